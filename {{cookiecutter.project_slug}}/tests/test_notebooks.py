"""Every notebook runs top to bottom as a script, against the shipped sample data."""

import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import PROJECT

NOTEBOOKS = sorted((PROJECT / "notebooks").glob("*.py"))


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda path: path.name)
def test_notebook_runs_as_a_script(notebook: Path, workdir: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(notebook)],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert list(workdir.glob("data/features/*/features.parquet")), "features were built"
