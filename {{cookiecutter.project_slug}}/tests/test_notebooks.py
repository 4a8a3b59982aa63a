"""Every notebook runs top to bottom as a script, against the data the configs name."""

import sys
from pathlib import Path

import pytest

from tests.helpers import PROJECT, run_process

NOTEBOOKS = sorted((PROJECT / "notebooks").glob("*.py"))


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda path: path.name)
def test_notebook_runs_as_a_script(notebook: Path, workdir: Path) -> None:
    done = run_process([sys.executable, str(notebook)], cwd=workdir, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert list(workdir.glob("data/features/*/features.parquet")), "features were built"
