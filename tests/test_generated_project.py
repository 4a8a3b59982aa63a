"""The generated project installs from its lock and passes its own `make ci` (slow: minutes)."""

import json
import os
import socket
import sqlite3
import subprocess
import time
import tomllib
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml

from ml_template_dev import ROOT, UV, own_data
from ml_template_dev.processes import stop_group, wait_ready
from ml_template_dev.pythons import interpreter
from ml_template_dev.questions import choices
from ml_template_dev.render import render_copier

pytestmark = pytest.mark.slow


def _project_env(project: Path) -> dict[str, str]:
    """The environment a user's shell would give `make`, minus anything pointing elsewhere."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "MLFLOW_"))}
    env["UV_PROJECT_ENVIRONMENT"] = str(project / ".venv")
    env["REQUIRE_CHROMIUM"] = "1"  # the report's browser test runs here, never skips (.ci/run)
    return env


def _git_commit_all(project: Path) -> None:
    """Make the render a repository with one commit, as a user does before `make ci`."""
    git = ["git", "-c", "user.name=Test", "-c", "user.email=test@example.com"]
    subprocess.run([*git, "init", "-q"], cwd=project, check=True)
    subprocess.run([*git, "add", "-A"], cwd=project, check=True)
    subprocess.run([*git, "commit", "-qm", "render"], cwd=project, check=True)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _locked_version(lock: Path, package: str) -> str:
    packages = tomllib.loads(lock.read_text())["package"]
    return next(p["version"] for p in packages if p["name"] == package)


# The features that carry most of the sample data's signal, per problem type.
STRONGEST = {
    "classification": ["support_tickets", "tickets_per_year", "last_login_days", "tenure_days"],
    "regression": ["monthly_spend", "plan", "last_login_days"],
}


@pytest.mark.parametrize("problem_type", choices("problem_type"))
def test_ci_passes_on_the_sample_and_on_a_team_s_own_table(
    tmp_path: Path, problem_type: str
) -> None:
    """The sample passes CI, a weakened model fails the gate, then a team's own table passes.

    For the default problem type CI is the GitHub workflow run by act (its jobs are `make ci`'s
    targets, tests/test_ci.py checks); for the other it is `make ci`. The how-to for a team's own
    table runs `make ci` in the same checkout afterwards: a second run reads nothing the first left.
    """
    project = render_copier(tmp_path / "project", {"problem_type": problem_type})
    _git_commit_all(project)
    env = _project_env(project)
    subprocess.run(["make", "setup"], cwd=project, env=env, check=True)
    if problem_type == choices("problem_type")[0]:
        _run_the_github_workflow(project, tmp_path)
        subprocess.run(["make", "smoke", "gate"], cwd=project, env=env, check=True)
    else:
        subprocess.run(["make", "ci"], cwd=project, env=env, check=True)
    # The project's docs site, strictly (a broken link or page fails), reference tables included.
    subprocess.run(["make", "docs-build"], cwd=project, env=env, check=True)
    reference = (project / "build" / "site" / "reference" / "index.html").read_text()
    assert "MLFLOW_TRACKING_URI" in reference and "/predict" in reference

    with sqlite3.connect(project / "mlflow.db") as db:
        versions = db.execute("SELECT name, version FROM model_versions").fetchall()
    assert versions == [("my-ml-project-smoke", 1)]
    assert "Metrics gate: PASSED" in (project / "metrics" / "gate.md").read_text()
    assert list((project / "mlartifacts").rglob("MLmodel")), "the model artefact is stored locally"

    smoke = project / "configs" / "smoke.yaml"
    config = yaml.safe_load(smoke.read_text())
    config["model"]["exclude_features"] = STRONGEST[problem_type]
    smoke.write_text(yaml.safe_dump(config))
    subprocess.run(["make", "smoke"], cwd=project, env=env, check=True)
    gate = subprocess.run(["make", "gate"], cwd=project, env=env, check=False)
    assert gate.returncode != 0, "a model without its strongest features must fail the gate"
    table = (project / "metrics" / "gate.md").read_text()
    assert "Metrics gate: FAILED" in table
    assert "❌ regressed" in table

    monitor = subprocess.run(
        ["make", "monitor", "CONFIG=configs/smoke.yaml", "MODEL=models:/my-ml-project-smoke/1"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert monitor.returncode != 0
    assert "error: prediction log folder logs/predictions not found" in monitor.stderr

    subprocess.run(["git", "checkout", "configs/smoke.yaml"], cwd=project, check=True)
    _adopt_own_table(project, env, problem_type)


def _adopt_own_table(project: Path, env: dict[str, str], problem_type: str) -> None:
    """What a team does with its own table: the how-to's commands as written, then the loop.

    The table was not designed for the template (awkward names, missing values, no id); no file
    is edited by hand: the how-to's commands set the schema, the configs' raw_path and baseline.
    """
    table = project / "data" / "raw" / "table.csv"
    rows = own_data.write_table(table, problem_type)
    values = {"TABLE": "data/raw/table.csv", "TARGET": own_data.TARGETS[problem_type]}
    variables: dict[str, str] = {}
    for command, expected in own_data.howto_commands(project):
        assigned = own_data.assignment(command)
        if assigned is not None:
            variables[assigned[0]] = values[assigned[0]]
            continue
        done = subprocess.run(
            ["bash", "-c", command],
            cwd=project,
            env={**env, **variables},
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == expected, f"{command}\n{done.stdout[-3000:]}{done.stderr[-3000:]}"
    schema = (project / "src" / "my_ml_project" / "core" / "schema.yaml").read_text()
    assert "customer_id" not in schema and "derived: {}" in schema
    assert "Metrics gate: PASSED" in (project / "metrics" / "gate.md").read_text()

    with sqlite3.connect(project / "mlflow.db") as db:
        (version,) = db.execute(
            "SELECT max(version) FROM model_versions WHERE name = 'my-ml-project-smoke'"
        ).fetchone()
    model = f"models:/my-ml-project-smoke/{version}"
    with _served(project, env, model) as url:
        answers = [_post(url, rows[start : start + 300]) for start in range(0, 1200, 300)]
        # The log is written off the request path: stop the server once it holds every row.
        log = project / "logs" / "predictions"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and _logged(log) < 1200:
            time.sleep(0.2)
    assert all(len(answer["predictions"]) == 300 for answer in answers)
    assert _logged(log) == 1200
    monitor = subprocess.run(
        ["make", "monitor", "CONFIG=configs/smoke.yaml", f"MODEL={model}"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert monitor.returncode in (0, 3), monitor.stdout + monitor.stderr  # a verdict either way
    assert "rows: 1,200 of this version" in monitor.stdout
    for name in own_data.FEATURES:
        assert name in monitor.stdout, f"{name} missing from the drift table"


@contextmanager
def _served(project: Path, env: dict[str, str], model: str) -> Iterator[str]:
    """`make serve` on a free port until the block ends (stopped also when it fails)."""
    port = free_port()
    server = subprocess.Popen(
        ["make", "serve", f"MODEL={model}"],
        cwd=project,
        env={**env, "PORT": str(port), "PREDICTION_LOG_DIR": "logs/predictions"},
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        if not wait_ready(f"{url}/readyz", server):
            raise AssertionError("the server did not start")
        yield url
    finally:
        stop_group(server)


def _logged(log: Path) -> int:
    """Complete lines in the prediction log folder."""
    return sum(path.read_bytes().count(b"\n") for path in log.glob("predictions-*.jsonl"))


def _post(url: str, records: list[dict[str, Any]]) -> dict[str, Any]:
    body = json.dumps({"records": records}).encode()
    request = urllib.request.Request(f"{url}/predict", body, {"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as answer:
        return json.loads(answer.read())  # type: ignore[no-any-return]


def _run_the_github_workflow(project: Path, tmp_path: Path) -> None:
    """The CI workflow's `run:` steps, executed by act on this machine (`uses:` steps need GitHub:
    act copies the work tree for checkout; setup-uv maps to an empty local action)."""
    stub = tmp_path / "stub"
    stub.mkdir()
    (stub / "action.yml").write_text(
        "name: stand-in\ndescription: skipped under act\nruns:\n  using: composite\n  steps: []\n"
    )
    event = tmp_path / "event.json"  # `github.event.act` skips the online-only audit job
    event.write_text('{"act": true}')
    workflow = yaml.safe_load((project / ".github/workflows/ci.yml").read_text())
    setup_uv = next(
        step["uses"]
        for step in workflow["jobs"]["lint"]["steps"]
        if step.get("uses", "").startswith("astral-sh/setup-uv@")
    )
    done = subprocess.run(
        [
            str(ROOT / ".venv" / "bin" / "act"),
            "-P",
            "ubuntu-latest=-self-hosted",
            "--action-offline-mode",
            "--local-repository",
            f"{setup_uv}={stub}",
            "--matrix",
            "python:3.11",
            "--concurrent-jobs",  # host mode: jobs share the work tree and its .venv
            "1",
            "--eventpath",
            str(event),
            "--workflows",  # the CI workflow only (release.yml would fetch docker's actions)
            ".github/workflows/ci.yml",
        ],
        cwd=project,
        env=_project_env(project),
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    for job in ("lint", "typecheck", "test", "metrics-gate"):
        assert f"[CI/{job}" in done.stdout
    assert done.stdout.count("Job succeeded") == 4
    assert "Metrics gate: PASSED" in done.stdout


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
