"""The generated project's Spark job, `make setup-spark test-spark`, passes here (slow: a JVM).

Features on Spark equal DuckDB's and batch scoring on Spark writes what local scoring writes; the
generated CI runs the same two targets in its `spark` job. REQUIRE_SPARK=1 turns a missing JVM
into a failure, so this test never passes by skipping (.ci/run installs a JRE where missing).
"""

import os
import subprocess
from pathlib import Path

import pytest

from ml_template_dev.render import render_copier

pytestmark = pytest.mark.slow


def test_make_test_spark_passes_without_skipping(tmp_path: Path) -> None:
    project = render_copier(tmp_path / "p")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "MLFLOW_"))}
    env["UV_PROJECT_ENVIRONMENT"] = str(project / ".venv")
    env["REQUIRE_SPARK"] = "1"
    done = subprocess.run(
        ["make", "setup-spark", "test-spark"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    assert " passed" in done.stdout and "skipped" not in done.stdout, done.stdout[-2000:]
