"""The Evidently worker: one process that imports Evidently while the monitoring job does the rest.

Importing Evidently is CPU-bound and holds the GIL, so in the job's own process it would wait for
MLflow's import and the registry, one after the other. Instead `start()` launches a worker process
that imports Evidently on another core, and `measure` runs `evidently_report.run` there. This
module is the only code that knows the worker exists; the job calls `start()` first and
`measure` when it has both samples.

Contract:
- one worker per process, shared by the jobs that process runs (a test session runs many);
- the worker is spawned (a fresh interpreter, never a fork of a process running threads) and
  ignores Ctrl-C, which the job handles;
- Evidently is imported in a background thread of the worker, so that a job ending before it
  needs Evidently (too few rows, a user error) exits without waiting for that import;
- an error inside Evidently is raised here as `EvidentlyWorkerError`, chained to the original
  exception and the worker's traceback; the worker stays up for the next request;
- a worker that dies (killed, out of memory) is an `EvidentlyWorkerError` too, and the next call
  starts a new worker;
- a relative `report_path` is relative to the caller's working directory, not the worker's.
"""

from __future__ import annotations

import atexit
import gc
import multiprocessing
import os
import signal
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the job starts the worker before it imports pandas or pydantic
    from .drift import DriftRequest, DriftScores


class EvidentlyWorkerError(RuntimeError):
    """Evidently failed in the worker, or the worker process stopped."""


_pool: ProcessPoolExecutor | None = None
_pool_lock = threading.Lock()


def start() -> None:
    """Start this process's worker, unless it runs already; Evidently's import begins now."""
    _shared_pool()


def measure(request: DriftRequest) -> DriftScores:
    """Run one Evidently report in the worker and return its scores; safe from any thread."""
    pool = _shared_pool()
    request = replace(request, report_path=request.report_path.absolute())
    try:
        return pool.submit(_report, request).result()
    except BrokenProcessPool:
        _discard(pool)
        raise EvidentlyWorkerError(
            "the Evidently worker process stopped before it answered (killed, or out of "
            "memory?); the next run starts a new one"
        ) from None
    except Exception as error:
        first_line = (str(error).splitlines() or [""])[0]
        raise EvidentlyWorkerError(
            f"Evidently failed in the worker: {type(error).__name__}: {first_line}"
        ) from error


def _shared_pool() -> ProcessPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ProcessPoolExecutor(
                max_workers=1,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_initialize,
            )
            _pool.submit(int)  # a pool starts its process on the first task
        return _pool


def _discard(pool: ProcessPoolExecutor) -> None:
    global _pool
    with _pool_lock:
        if _pool is pool:
            _pool = None
    pool.shutdown(wait=False, cancel_futures=True)


# In the worker process: set once Evidently's import has ended, successfully or not.
_imported = threading.Event()


def _initialize() -> None:
    """The worker's start: ignore Ctrl-C, import Evidently in the background, exit at once."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # The worker holds nothing to flush or close when it is told to stop, and the job's process
    # waits for it to end: it skips the interpreter's teardown of everything Evidently loaded.
    atexit.register(os._exit, 0)
    # The import creates millions of objects that live as long as the worker: the cyclic garbage
    # collector would walk them again and again and find nothing to free. It stays off; what is
    # alive after the import is frozen, and each request first collects what the last one left.
    gc.disable()
    threading.Thread(target=_import_evidently, name="import-evidently", daemon=True).start()


def _import_evidently() -> None:
    try:
        from . import evidently_report  # noqa: F401
    except Exception:  # the request that needs the module imports it again and raises
        pass
    finally:
        gc.freeze()
        _imported.set()


def _report(request: DriftRequest) -> DriftScores:
    _imported.wait()
    gc.collect()
    from . import evidently_report

    return evidently_report.run(request)
