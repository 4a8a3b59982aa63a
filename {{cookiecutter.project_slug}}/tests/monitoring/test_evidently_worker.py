"""The Evidently worker: Evidently's scores, one clear error, a new worker after a death."""

import os
import signal
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.monitoring import evidently_report, evidently_worker
from {{ cookiecutter.package_name }}.monitoring.drift import DriftRequest, Rule
from {{ cookiecutter.package_name }}.monitoring.evidently_worker import EvidentlyWorkerError
from tests.helpers import run_process

pytestmark = pytest.mark.slow  # the worker imports Evidently: seconds
# Columns of its own (the worker is told them): a number that shifts, a category that does not.
NUMBER, CATEGORY = "Monthly Spend (€)", "plan.type"


def request(folder: Path, shift: float = 0.0, method: str = "wasserstein") -> DriftRequest:
    rng = np.random.default_rng(3)

    def sample(rows: int, offset: float) -> pd.DataFrame:
        return pd.DataFrame(
            {
                NUMBER: rng.normal(40 + offset, 5, rows),
                CATEGORY: rng.choice(["basic", "pro"], rows),
                "score": rng.uniform(0, 1, rows),
            }
        )

    return DriftRequest(
        reference=sample(500, 0.0),
        current=sample(800, shift),
        features={
            NUMBER: Rule("numeric", method, 0.1),
            CATEGORY: Rule("categorical", "jensenshannon", 0.1),
        },
        score=("score", Rule("numeric", "wasserstein", 0.1)),
        drift_share=0.5,
        report_path=folder / "report.html",
    )


def worker_pid() -> int:
    """The process id of this process's worker, started if there is none."""
    return evidently_worker._shared_pool().submit(os.getpid).result(timeout=300)


def test_the_worker_scores_as_evidently_does_here(tmp_path: Path) -> None:
    scores = evidently_worker.measure(request(tmp_path / "worker", shift=10.0))
    here = evidently_report.run(request(tmp_path / "here", shift=10.0))
    assert scores == here
    assert set(scores) == {NUMBER, CATEGORY, "score"}
    assert scores[NUMBER][1] and not scores[CATEGORY][1]  # the shifted column drifted, alone
    assert "<html" in (tmp_path / "worker" / "report.html").read_text()[:1000].lower()


def test_an_evidently_error_is_one_error_and_the_next_request_works(tmp_path: Path) -> None:
    pid = worker_pid()
    with pytest.raises(EvidentlyWorkerError, match="Evidently failed in the worker") as raised:
        evidently_worker.measure(request(tmp_path / "bad", method="no-such-method"))
    assert "\n" not in str(raised.value)
    error = raised.value.__cause__  # Evidently's, with the worker's traceback as its cause
    assert error is not None
    assert "evidently_report.py" in str(error.__cause__), error.__cause__
    assert worker_pid() == pid
    assert evidently_worker.measure(request(tmp_path / "good"))[NUMBER][1] is False


def test_a_killed_worker_is_a_clear_error_and_the_next_call_gets_a_new_one(
    tmp_path: Path,
) -> None:
    pid = worker_pid()
    os.kill(pid, signal.SIGKILL)
    with pytest.raises(EvidentlyWorkerError, match="the Evidently worker process stopped") as stop:
        evidently_worker.measure(request(tmp_path))
    assert "\n" not in str(stop.value)
    assert worker_pid() != pid
    assert evidently_worker.measure(request(tmp_path))[CATEGORY][1] is False


def test_a_relative_report_path_is_the_job_s(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    worker_pid()  # the worker runs, started in another working directory
    monkeypatch.chdir(tmp_path)
    evidently_worker.measure(request(Path("relative")))
    assert (tmp_path / "relative" / "report.html").is_file()


def test_a_job_that_needs_no_report_does_not_wait_for_evidently_s_import(tmp_path: Path) -> None:
    """A process that started the worker, and needs no report, ends while Evidently imports."""
    fake = tmp_path / "fake" / "evidently"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text(
        "import time\n\nwhile True:  # an import that never ends\n    time.sleep(0.05)\n"
    )
    package = evidently_worker.__name__.rpartition(".")[0]
    code = f"from {package} import evidently_worker; evidently_worker.start(); print('started')"
    path = os.pathsep.join(filter(None, [str(fake.parent), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": path}
    # Waiting for the import would never end: the process would run out of time.
    done = run_process([sys.executable, "-c", code], env=env, timeout=300)
    assert (done.returncode, done.stdout) == (0, "started\n"), done.stderr
