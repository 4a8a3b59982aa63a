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
# Starts the service in-process, scores through both endpoints, prints the modules it imported.
SERVE_AND_LIST_MODULES = """
import json, sys
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
print(json.dumps(sorted(sys.modules)))
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


def test_serving_imports_nothing_only_training_or_monitoring_needs(
    model_dir: Path, tmp_path: Path
) -> None:
    forbidden = other_steps_modules()
    assert {"mlflow", "evidently", "ibis", "matplotlib"} <= forbidden, "groups read wrongly"
    done = subprocess.run(
        [sys.executable, "-c", SERVE_AND_LIST_MODULES, str(model_dir), str(tmp_path / "log")],
        input=json.dumps(feature_records(2, seed=1)),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    loaded = {name.partition(".")[0] for name in json.loads(done.stdout.splitlines()[-1])}
    assert not loaded & forbidden, (
        f"serving imported {sorted(loaded & forbidden)}: import them inside the function "
        "that needs them, or move the package to [project] dependencies"
    )
