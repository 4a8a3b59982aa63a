"""Shared fixtures: every test runs in its own folder with its own registry, never the project's."""

import shutil
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parent.parent


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A scratch copy of configs, sample data and baseline as working directory, own registry."""
    shutil.copytree(PROJECT / "configs", tmp_path / "configs")
    shutil.copytree(PROJECT / "data" / "sample", tmp_path / "data" / "sample")
    shutil.copytree(PROJECT / "metrics", tmp_path / "metrics")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    return tmp_path
