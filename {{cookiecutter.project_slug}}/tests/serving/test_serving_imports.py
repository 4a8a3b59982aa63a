"""The service imports only serving's own dependencies: the image installs nothing else."""

import json
import subprocess
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.helpers import feature_records

PYPROJECT = Path(__file__).parents[2] / "pyproject.toml"
# Makes the packages named in argv[3:] unimportable, as in the serving-only environment (pandas
# and scikit-learn then skip their optional pyarrow and rich imports), starts the service
# in-process and scores through both endpoints.
SERVE_WITHOUT = """
import json, sys
from importlib.abc import MetaPathFinder

class Absent(MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in sys.argv[3:]:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, Absent())
from fastapi.testclient import TestClient
import {{ cookiecutter.package_name }}.cli
import {{ cookiecutter.package_name }}.serving.server
from {{ cookiecutter.package_name }}.serving.app import create_app
from {{ cookiecutter.package_name }}.serving.settings import ServiceSettings

rows = json.load(sys.stdin)
settings = ServiceSettings.model_validate(
    dict(model_dir=sys.argv[1], prediction_log_dir=sys.argv[2])
)
with TestClient(create_app(settings)) as client:
    assert client.post("/predict", json=dict(records=rows)).status_code == 200
    assert client.post("/invocations", json=dict(dataframe_records=rows)).status_code == 200
"""


def other_steps_modules() -> set[str]:
    """Top-level modules of the packages only the other steps' groups require (not serving's)."""
    project = tomllib.loads(PYPROJECT.read_text())
    serving = {canonicalize_name(Requirement(r).name) for r in project["project"]["dependencies"]}
    others = {
        canonicalize_name(Requirement(entry).name)
        for group, entries in project["dependency-groups"].items()
        if group != "dev"
        for entry in entries
        if isinstance(entry, str)
    }
    only_others = others - serving
    return {
        module
        for module, distributions in packages_distributions().items()
        if any(canonicalize_name(name) in only_others for name in distributions)
    }


def test_serving_works_without_the_packages_only_training_or_monitoring_need(
    model_dir: Path, tmp_path: Path
) -> None:
    absent = other_steps_modules()
    assert {"mlflow", "evidently", "ibis", "matplotlib"} <= absent, "groups read wrongly"
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            SERVE_WITHOUT,
            str(model_dir),
            str(tmp_path / "log"),
            *sorted(absent),
        ],
        input=json.dumps(feature_records(2, seed=1)),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, (
        f"serving needs a package only another step's group installs: {done.stderr[-600:]}; "
        "import it inside the function that needs it, or move it to [project] dependencies"
    )
