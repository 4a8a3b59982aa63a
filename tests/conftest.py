"""Fixtures for the template's own tests."""

import os
from pathlib import Path

import pytest

from ml_template_dev.render import isolate, render_copier


@pytest.fixture(scope="session", autouse=True)
def isolated_settings(tmp_path_factory: pytest.TempPathFactory) -> None:
    """No test sees the user's copier settings (e.g. a trusted-templates list)."""
    isolate(tmp_path_factory.mktemp("settings"))


@pytest.fixture(scope="session", autouse=True)
def one_openmp_thread_per_project() -> None:
    """Generated projects run side by side here (one per pytest worker) on few cores.

    OpenMP (scikit-learn's histogram boosting) starts a team of threads per process; several
    teams spinning on the same cores slow each other down many times over (measured: a smoke
    training's permutation importances took 16 s with the default, 1.9 s with one thread, while
    another project ran beside it). A value already set (e.g. by CI) wins.
    """
    os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture(scope="session")
def default_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One project rendered with every default answer, shared by read-only tests."""
    return render_copier(tmp_path_factory.mktemp("default") / "project")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Slow tests (minutes each) first, so the workers do not end on one long test."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
