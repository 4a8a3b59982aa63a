"""Runs the model in one background thread, merging requests that arrive while it is busy.

Predicting is CPU-bound and its fixed cost (column checks in scikit-learn and pandas) dwarfs the
cost per row, so requests queued during one prediction are scored together in the next: the
event loop never blocks, a lone request waits for nothing, and a busy server scores many rows per
call. Every request still gets exactly its own rows' results. The merging is hand-written rather
than a batching library's because those wait for a batch to fill (a delay or a size), which adds
that wait to every request; this one merges only what is already queued.
"""

import asyncio
import queue
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import sklearn
from numpy.typing import NDArray
from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

from ..core.schema import schema


@dataclass(frozen=True)
class Predictions:
    """The model's answer for some rows: one label (classifier) or value per row.

    `probabilities`, for a classifier only: one row per input row, one column per class.
    """

    values: list[float] | list[int]
    probabilities: NDArray[np.float64] | None

    def finite(self) -> bool:
        """No value or probability is NaN or infinite (such a number is not JSON)."""
        if self.probabilities is not None:
            return bool(np.isfinite(self.probabilities).all())
        return bool(np.isfinite(np.asarray(self.values, dtype=np.float64)).all())


class ScoringError(Exception):
    """The model could not score a request's own rows."""


# Validated rows by column: every schema feature's values, in the schema's order, all of one
# length; None where a value is missing.
Columns = Mapping[str, Sequence[Any]]
# What scores such a table: the pipeline (`pipeline_scorer`) or a fast path equal to it.
Scorer = Callable[[Columns], Predictions]


def rows_of(columns: Columns) -> int:
    """How many rows a column table holds."""
    return len(next(iter(columns.values())))


@dataclass
class _Job:
    columns: Columns
    future: "asyncio.Future[Predictions]"
    loop: asyncio.AbstractEventLoop

    @property
    def rows(self) -> int:
        return rows_of(self.columns)


def frame(columns: Columns) -> pd.DataFrame:
    """The model's input frame from validated columns: missing values as NaN, schema dtypes."""
    inputs: dict[str, Any] = {}
    for column in schema().features:
        values = columns[column.name]
        if column.kind == "numeric":
            inputs[column.name] = np.array(values, dtype=np.float64)
        else:
            inputs[column.name] = pd.array(values, dtype="str")
    return pd.DataFrame(inputs)


@contextmanager
def scoring_context() -> Iterator[None]:
    """How the runner's thread scores: one BLAS/OpenMP thread, inputs known to be finite.

    One thread per worker process: scale with --workers, not with threads inside a call (on a
    busy machine, idle OpenMP threads waiting for a core cost more than a small call's work).
    """
    with threadpool_limits(limits=1), sklearn.config_context(assume_finite=True):
        yield


def pipeline_scorer(model: Pipeline) -> Scorer:
    """Score with the fitted pipeline itself, on the frame `frame` builds."""
    return lambda columns: score(model, columns)


def score(model: Pipeline, columns: Columns) -> Predictions:
    """Score rows: one predict_proba for a classifier (the label is its argmax), else predict."""
    inputs = frame(columns)
    if hasattr(model, "predict_proba"):
        probabilities = np.asarray(model.predict_proba(inputs), dtype=np.float64)
        labels = model.classes_[probabilities.argmax(axis=1)]
        return Predictions(values=labels.tolist(), probabilities=probabilities)
    predictions = np.asarray(model.predict(inputs), dtype=np.float64)
    return Predictions(values=predictions.tolist(), probabilities=None)


class ModelRunner:
    """One thread that owns the model; `await runner.score(columns)` from any request."""

    def __init__(self, scorer: Scorer, max_rows: int) -> None:
        self._scorer = scorer
        self._max_rows = max_rows
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="model-runner", daemon=True)

    def start(self) -> None:
        """Start the scoring thread."""
        self._thread.start()

    def close(self) -> None:
        """Finish queued work and stop the thread."""
        self._queue.put(None)
        self._thread.join()

    async def score(self, columns: Columns) -> Predictions:
        """Score a request's rows in the runner thread without blocking the event loop."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Predictions] = loop.create_future()
        self._queue.put(_Job(columns, future, loop))
        return await future

    def _run(self) -> None:
        with scoring_context():
            while True:
                first = self._queue.get()
                if first is None:
                    return
                jobs = [first]
                rows = first.rows
                while rows < self._max_rows and not self._queue.empty():
                    job = self._queue.get_nowait()
                    if job is None:
                        self._queue.put(None)
                        break
                    jobs.append(job)
                    rows += job.rows
                self._score(jobs)

    def _score(self, jobs: list[_Job]) -> None:
        try:
            merged = self._scorer(_merge([job.columns for job in jobs]))
            if not merged.finite():
                raise ValueError("the model gave a prediction that is not a finite number")
        except Exception:
            if len(jobs) == 1:
                self._fail(jobs[0])
            else:  # find the request at fault: score each alone
                for job in jobs:
                    self._score([job])
            return
        start = 0
        for job in jobs:
            end = start + job.rows
            probabilities = (
                None if merged.probabilities is None else merged.probabilities[start:end]
            )
            _resolve(job, Predictions(merged.values[start:end], probabilities))
            start = end

    @staticmethod
    def _fail(job: _Job) -> None:
        error = ScoringError("the model could not score these records; check their values")
        job.loop.call_soon_threadsafe(_set_exception, job.future, error)


def _merge(tables: list[Columns]) -> Columns:
    """One table of all the tables' rows, in order (the only table, as it is)."""
    if len(tables) == 1:
        return tables[0]
    return {name: [value for table in tables for value in table[name]] for name in tables[0]}


def _resolve(job: _Job, predictions: Predictions) -> None:
    job.loop.call_soon_threadsafe(_set_result, job.future, predictions)


def _set_result(future: "asyncio.Future[Predictions]", predictions: Predictions) -> None:
    if not future.done():  # the client may have gone
        future.set_result(predictions)


def _set_exception(future: "asyncio.Future[Predictions]", error: Exception) -> None:
    if not future.done():
        future.set_exception(error)
