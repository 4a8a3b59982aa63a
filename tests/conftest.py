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


# Seconds a slow test took in the last measured `make test` (`--durations`, 2 workers, fresh-check
# of 2026-12-03); a slow test not listed counts as one minute. Only the order depends on them.
MEASURED_SECONDS = {
    "test_generated_project.py::test_ci_passes_on_the_sample_and_on_a_team_s_own_table": 890,
    "test_update.py::test_template_update_keeps_user_edits_and_dependencies_and_the_release_pins": (
        860
    ),
    "test_tracking_server.py::test_the_loop_runs_against_postgresql_s3_and_a_tracking_server": 285,
    "test_getting_started.py::test_both_getting_started_pages_run_as_written": 180,
    "test_spark.py::test_make_test_spark_passes_without_skipping": 145,
}


def _expected_seconds(item: pytest.Item) -> float:
    """How long a test is expected to take: measured for the long ones, else a guess by marker."""
    if item.get_closest_marker("slow") is None:
        return 0
    name = item.nodeid.rpartition("/")[2].partition("[")[0]
    return MEASURED_SECONDS.get(name, 60)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Longest tests first (slow ones by their measured time), so the workers end together.

    With `--dist worksteal`, a worker that finishes early takes queued tests from the other; a
    long test started last leaves one worker running alone (on 2026-12-03 the 13-minute cruft update
    test ran alone at the end).
    """
    items.sort(key=_expected_seconds, reverse=True)
