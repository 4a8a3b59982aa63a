"""Fetching the model to serve: an export in a child process, or the folder MODEL_DIR names."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from {{ cookiecutter.package_name }}.cli import app
from {{ cookiecutter.package_name }}.core.errors import UserError
from {{ cookiecutter.package_name }}.serving.fetch import fetch_model


def test_an_exported_folder_is_served_as_it_is(model_dir: Path) -> None:
    with fetch_model("models:/test-model/7", str(model_dir)) as fetch:
        assert fetch.model_dir() == model_dir


def test_nothing_to_serve_is_one_line() -> None:
    with pytest.raises(UserError, match="no model to serve: set MODEL_URI"):
        fetch_model(None, "").__enter__()


def test_a_failed_export_reports_its_own_error_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'missing.db'}")
    target = tmp_path / "model"
    with pytest.raises(UserError) as caught, fetch_model("models:/churn/3", str(target)) as fetch:
        fetch.model_dir()
    assert str(caught.value).startswith("cannot load model models:/churn/3: no registry at ")
    assert "\n" not in str(caught.value)
    assert not (tmp_path / "missing.db").exists(), "the failed export created no registry"


def test_a_bad_setting_stops_start_up_while_the_export_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'missing.db'}")
    monkeypatch.setenv("MAX_BATCH_ROWS", "lots")
    result = CliRunner().invoke(app, ["serve", "--model", "models:/churn/3"])
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "error: bad service setting: MAX_BATCH_ROWS='lots': "
        "Input should be a valid integer, unable to parse string as an integer"
    )
