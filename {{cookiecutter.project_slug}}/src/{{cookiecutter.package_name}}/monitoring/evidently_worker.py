"""The drift worker: a process that imports Evidently while the monitoring job does the rest.

Importing Evidently takes seconds of CPU, and Python imports hold the GIL, so in one process it
would wait for MLflow's imports and the registry, one after the other. `monitor` starts the
worker first: Evidently is imported on another core while the job reads the log and asks the
registry, and the worker then runs `drift_report.run` on the samples it is sent. It is spawned
(a fresh interpreter, never a fork of a process that may be running threads), ignores Ctrl-C,
ends when its pipe closes or, as a daemon, when the job exits, and serves later jobs of the same
process too, such as the tests.
"""

from __future__ import annotations

import gc
import multiprocessing
import signal
import sys
import threading
import traceback
from dataclasses import replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the job starts the worker before it imports pandas or pydantic
    from multiprocessing.connection import Connection

    from .drift import DriftRequest, DriftScores


class DriftWorkerError(RuntimeError):
    """The worker stopped, or Evidently failed in it (its traceback is on stderr)."""


class DriftWorker:
    """One worker process and the pipe to it; `measure` is safe to call from any thread."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")
        self._pipe, theirs = context.Pipe()
        self._process = context.Process(
            target=_serve, args=(theirs,), name="drift-worker", daemon=True
        )
        self._process.start()
        theirs.close()
        self._lock = threading.Lock()

    @property
    def alive(self) -> bool:
        """Whether the process is still running."""
        return self._process.is_alive()

    def measure(self, request: DriftRequest) -> DriftScores:
        """Run one report in the worker; wait for its scores."""
        # The worker keeps the working directory it started in: send it an absolute path.
        request = replace(request, report_path=request.report_path.absolute())
        with self._lock:
            try:
                self._pipe.send(request)
                reply: DriftScores | str = self._pipe.recv()
            except (EOFError, OSError):
                self._process.join(timeout=1)
                raise DriftWorkerError(
                    f"the drift worker stopped (exit code {self._process.exitcode}); "
                    "its error, if any, is above"
                ) from None
        if isinstance(reply, str):
            raise DriftWorkerError(f"Evidently failed in the drift worker: {reply}")
        return reply


def _serve(pipe: Connection) -> None:
    """The worker's main loop: import Evidently, then answer requests until the pipe closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # The import creates millions of objects that live as long as the worker: the cyclic garbage
    # collector would walk them again and again for nothing (about a second of CPU), so it is off,
    # and collects once a reply is sent, when the job no longer waits.
    gc.disable()
    from . import evidently_report  # the seconds-long import, on this process's core

    gc.freeze()
    while True:
        try:
            request = pipe.recv()
        except EOFError:
            return
        try:
            reply: DriftScores | str = evidently_report.run(request)
        except Exception as error:  # reported to the job, which fails with it
            traceback.print_exc(file=sys.stderr)
            reply = f"{type(error).__name__}: {error}"
        pipe.send(reply)
        gc.collect()


_shared: DriftWorker | None = None
_shared_lock = threading.Lock()


def shared() -> DriftWorker:
    """The worker of this process, started now if there is none yet (or it died)."""
    global _shared
    with _shared_lock:
        if _shared is None or not _shared.alive:
            _shared = DriftWorker()
        return _shared
