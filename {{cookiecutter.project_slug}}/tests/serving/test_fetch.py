"""Fetching the model to serve: an export in a worker process, or the folder MODEL_DIR names."""

import json
import multiprocessing
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from {{ cookiecutter.package_name }}.cli import app
from {{ cookiecutter.package_name }}.core.errors import UserError
from {{ cookiecutter.package_name }}.serving.fetch import fetch_model


def workers() -> set[int | None]:
    """This process's multiprocessing children still running."""
    return {process.pid for process in multiprocessing.active_children()}


@pytest.fixture
def no_registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A registry URI whose database does not exist: every export fails at once."""
    database = tmp_path / "missing.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{database}")
    return database


def test_an_exported_folder_is_served_as_it_is(model_dir: Path) -> None:
    before = workers()
    with fetch_model("models:/test-model/7", str(model_dir)) as fetch:
        assert workers() == before, "no export was started"
        assert fetch.model_dir("models:/test-model/7", model_dir) == model_dir


def test_nothing_to_serve_is_one_line() -> None:
    with (
        pytest.raises(UserError, match="no model to serve: set MODEL_URI"),
        fetch_model(None, "") as fetch,
    ):
        fetch.model_dir(None, None)


def test_a_failed_export_reports_its_own_error_and_leaves_nothing(
    tmp_path: Path, no_registry: Path
) -> None:
    target = tmp_path / "model"
    before = workers()
    with pytest.raises(UserError) as caught, fetch_model("models:/demo/3", str(target)) as fetch:
        fetch.model_dir("models:/demo/3", target)
    assert str(caught.value).startswith("cannot load model models:/demo/3: no registry at ")
    assert "\n" not in str(caught.value)
    assert not no_registry.exists(), "the failed export created no registry"
    assert workers() == before, "the worker process has exited"


def test_settings_that_name_another_model_win_over_the_started_export(
    model_dir: Path, no_registry: Path
) -> None:
    # e.g. MODEL_DIR set only in `.env`: the export started from the environment is not used.
    before = workers()
    with fetch_model("models:/demo/3", None) as fetch:
        assert workers() > before, "an export started"
        assert fetch.model_dir("models:/test-model/7", model_dir) == model_dir
        assert workers() == before, "the unused export was stopped"


def test_serve_imports_nothing_heavy_before_the_export_starts() -> None:
    code = (
        "import json, sys, {{ cookiecutter.package_name }}.serving.server\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    heavy = {"pydantic", "pydantic_settings", "sklearn", "fastapi", "uvicorn", "mlflow", "pandas"}
    assert heavy.isdisjoint(json.loads(done.stdout))


def test_a_bad_setting_stops_start_up_while_the_export_runs(
    no_registry: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAX_BATCH_ROWS", "lots")
    before = workers()
    result = CliRunner().invoke(app, ["serve", "--model", "models:/demo/3"])
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "error: bad service setting: MAX_BATCH_ROWS='lots': "
        "Input should be a valid integer, unable to parse string as an integer"
    )
    assert workers() == before, "the export was stopped"
