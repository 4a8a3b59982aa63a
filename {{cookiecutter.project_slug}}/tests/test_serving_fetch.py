"""Fetching the model to serve: an export in a child process, or the folder MODEL_DIR names."""

from pathlib import Path

import pytest

from {{ cookiecutter.package_name }}.errors import UserError
from {{ cookiecutter.package_name }}.serving.fetch import fetch_model
from {{ cookiecutter.package_name }}.serving.settings import Settings


def test_an_exported_folder_is_served_as_it_is(model_dir: Path) -> None:
    settings = Settings(model_dir=model_dir)
    with fetch_model(settings) as fetch:
        assert fetch.settings() == settings


def test_nothing_to_serve_is_one_line() -> None:
    with pytest.raises(UserError, match="no model to serve: set MODEL_URI"):
        fetch_model(Settings()).__enter__()


def test_a_failed_export_reports_its_own_error_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'missing.db'}")
    target = tmp_path / "model"
    settings = Settings(model_uri="models:/churn/3", model_dir=target)
    with pytest.raises(UserError) as caught, fetch_model(settings) as fetch:
        fetch.settings()
    assert str(caught.value).startswith("cannot load model models:/churn/3: no registry at ")
    assert "\n" not in str(caught.value)
    assert not (tmp_path / "missing.db").exists(), "the failed export created no registry"
