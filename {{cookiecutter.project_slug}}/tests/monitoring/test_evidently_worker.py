"""The drift worker process: same scores as Evidently in this process, clear errors, restarts."""

import os
import signal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.monitoring import evidently_report, evidently_worker
from {{ cookiecutter.package_name }}.monitoring.drift import DriftRequest, Rule

pytestmark = pytest.mark.slow  # the worker imports Evidently: seconds


def request(folder: Path, shift: float = 0.0, method: str = "wasserstein") -> DriftRequest:
    rng = np.random.default_rng(3)

    def sample(rows: int, offset: float) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "age": rng.normal(40 + offset, 5, rows),
                "plan": rng.choice(["basic", "pro"], rows),
                "score": rng.uniform(0, 1, rows),
            }
        )

    return DriftRequest(
        reference=sample(500, 0.0),
        current=sample(800, shift),
        features={
            "age": Rule("numeric", method, 0.1),
            "plan": Rule("categorical", "jensenshannon", 0.1),
        },
        score=("score", Rule("numeric", "wasserstein", 0.1)),
        drift_share=0.5,
        report_path=folder / "report.html",
    )


def test_the_worker_scores_as_evidently_does_here(tmp_path: Path) -> None:
    shifted = request(tmp_path / "worker", shift=10.0)
    scores = evidently_worker.shared().measure(shifted)
    here = evidently_report.run(request(tmp_path / "here", shift=10.0))
    assert scores == here
    assert set(scores) == {"age", "plan", "score"}
    assert scores["age"][1] and not scores["plan"][1]  # the shifted column drifted, alone
    assert "<html" in (tmp_path / "worker" / "report.html").read_text()[:1000].lower()


def test_an_evidently_error_is_reported_and_the_worker_goes_on(tmp_path: Path) -> None:
    worker = evidently_worker.shared()
    with pytest.raises(
        evidently_worker.DriftWorkerError, match="Evidently failed in the drift worker"
    ):
        worker.measure(request(tmp_path / "bad", method="no-such-method"))
    assert worker.alive
    assert worker.measure(request(tmp_path / "good"))["age"][1] is False


def test_a_killed_worker_is_a_clear_error_and_is_replaced(tmp_path: Path) -> None:
    worker = evidently_worker.shared()
    pid = worker._process.pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    worker._process.join()
    with pytest.raises(evidently_worker.DriftWorkerError, match="the drift worker stopped"):
        worker.measure(request(tmp_path))
    replacement = evidently_worker.shared()
    assert replacement is not worker and replacement.alive
    assert replacement.measure(request(tmp_path))["plan"][1] is False


def test_a_relative_report_path_is_the_job_s(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    worker = evidently_worker.shared()  # started in another working directory
    monkeypatch.chdir(tmp_path)
    worker.measure(request(Path("relative")))
    assert (tmp_path / "relative" / "report.html").is_file()
