"""Fixtures for the template's own tests."""

from pathlib import Path

import pytest

from ml_template_dev.render import isolate, render_copier


@pytest.fixture(scope="session", autouse=True)
def isolated_settings(tmp_path_factory: pytest.TempPathFactory) -> None:
    """No test sees the user's copier settings (e.g. a trusted-templates list)."""
    isolate(tmp_path_factory.mktemp("settings"))


@pytest.fixture(scope="session")
def default_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One project rendered with every default answer, shared by read-only tests."""
    return render_copier(tmp_path_factory.mktemp("default") / "project")
