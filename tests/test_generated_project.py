"""The generated project installs from its lock and passes its own `make ci` (slow: minutes)."""

import os
import sqlite3
import subprocess
import tomllib
from pathlib import Path

import pytest

from lock import interpreter
from render import ROOT, UV, choices, render_copier

pytestmark = pytest.mark.slow


def _project_env(project: Path) -> dict[str, str]:
    """The environment a user's shell would give `make`, minus anything pointing elsewhere."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "MLFLOW_"))}
    env["UV_PROJECT_ENVIRONMENT"] = str(project / ".venv")
    return env


def _locked_version(lock: Path, package: str) -> str:
    packages = tomllib.loads(lock.read_text())["package"]
    return next(p["version"] for p in packages if p["name"] == package)


@pytest.mark.parametrize("problem_type", choices("problem_type"))
def test_make_ci_registers_a_model_version(tmp_path: Path, problem_type: str) -> None:
    project = render_copier(tmp_path / "project", {"problem_type": problem_type})
    env = _project_env(project)
    subprocess.run(["make", "setup"], cwd=project, env=env, check=True)
    subprocess.run(["make", "ci"], cwd=project, env=env, check=True)

    with sqlite3.connect(project / "mlflow.db") as db:
        versions = db.execute("SELECT name, version FROM model_versions").fetchall()
    assert versions == [("my-ml-project-smoke", 1)]
    assert (project / "metrics" / "candidate.json").is_file()
    assert list((project / "mlartifacts").rglob("MLmodel")), "the model artefact is stored locally"


@pytest.mark.parametrize("python_min", choices("python_min"))
def test_lock_matches_pyproject_for_every_python(tmp_path: Path, python_min: str) -> None:
    """`uv lock --check` also for an unusual slug: the lock's own entry follows the answers."""
    project = render_copier(
        tmp_path / "p", {"python_min": python_min, "project_name": "Zeta Forecast"}
    )
    subprocess.run(
        [*UV, "lock", "--check", "--offline", "--python", interpreter(python_min)],
        cwd=project,
        env=_project_env(project),
        check=True,
    )


def test_template_formats_renders_with_the_generated_projects_ruff() -> None:
    generated = ROOT / "{{cookiecutter.project_slug}}"
    lock = next(generated.glob("*'3.11'*uv.lock*"))
    assert _locked_version(lock, "ruff") == _locked_version(ROOT / "uv.lock", "ruff")


def test_mypy_passes_for_every_minimum_python(tmp_path: Path) -> None:
    """`make ci` type-checks for 3.11; the other choices are checked with the same environment."""
    installed = render_copier(tmp_path / "installed")
    subprocess.run(
        [*UV, "sync", "--locked"], cwd=installed, env=_project_env(installed), check=True
    )
    for python_min in choices("python_min")[1:]:
        project = render_copier(tmp_path / python_min, {"python_min": python_min})
        env = {**_project_env(project), "MYPYPATH": str(project / "src")}
        done = subprocess.run(
            [str(installed / ".venv" / "bin" / "mypy")],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, f"Python {python_min}:\n{done.stdout}"
        assert f'python_version = "{python_min}"' in (project / "pyproject.toml").read_text()
