"""The prediction log: its format, and the writer that appends to it off the request path.

Format (the monitoring job's input; keep it stable). Files in PREDICTION_LOG_DIR named
`predictions-<host>-<pid>-<start>-<n>.jsonl`, one set per process so workers never share a file;
a new file once one reaches PREDICTION_LOG_MAX_BYTES (a request's lines stay together). Each line
is one JSON object with the fields of `FIELDS`:

    {"request_id": str, "row": int, "timestamp": ISO-8601 UTC, "model_name": str,
     "model_version": str, "run_id": str, "latency_ms": float,
     "features": {<feature>: value, ...}, "prediction": number, "probability": number | null}

Writing: requests put one item per request on a queue; one thread turns items into lines, writes
them, and flushes them to the operating system each time it has emptied the queue. `close()`
(graceful shutdown, SIGTERM) writes everything queued. A `kill -9` loses only what the thread
had not yet flushed, and may leave the last line of a file cut short; readers count such lines
as malformed. The writer is hand-written rather than `logging`'s queue and rotating-file handlers
because it is faster (one flush per emptied queue, not one per record) and keeps the format
stable: a file's name never changes once written, and a request's lines share one file. This
module imports neither FastAPI, pandas nor MLflow.
"""

import json
import logging
import os
import queue
import socket
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from ..core.errors import UserError

FILE_PATTERN = "predictions-*.jsonl"
# Each line's fields, in the order written, and the JSON types each may hold (never a boolean).
FIELDS: dict[str, type | tuple[type, ...]] = {
    "request_id": str,
    "row": int,
    "timestamp": str,
    "model_name": str,
    "model_version": str,
    "run_id": str,
    "latency_ms": (int, float),
    "features": dict,
    "prediction": (int, float),
    "probability": (int, float, type(None)),
}
_DRAIN_LIMIT = 256
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoggedRequest:
    """One answered request: what it asked, what the model said, which model said it."""

    request_id: str
    timestamp: datetime
    model_name: str
    model_version: str
    run_id: str
    latency_ms: float
    features: Sequence[dict[str, Any]]
    predictions: Sequence[float | int]
    probabilities: Sequence[float] | None

    def lines(self) -> str:
        """The request's JSON lines, one per row, each ending in a newline."""
        stamp = self.timestamp.isoformat()
        latency = round(self.latency_ms, 3)
        return "".join(
            json.dumps(
                {
                    "request_id": self.request_id,
                    "row": row,
                    "timestamp": stamp,
                    "model_name": self.model_name,
                    "model_version": self.model_version,
                    "run_id": self.run_id,
                    "latency_ms": latency,
                    "features": features,
                    "prediction": self.predictions[row],
                    "probability": None if self.probabilities is None else self.probabilities[row],
                },
                allow_nan=False,
            )
            + "\n"
            for row, features in enumerate(self.features)
        )


class PredictionLogWriter:
    """Appends logged requests to this process's files from a background thread."""

    def __init__(self, directory: Path, max_bytes: int) -> None:
        self._directory = directory
        self._max_bytes = max_bytes
        self._queue: queue.SimpleQueue[LoggedRequest | None] = queue.SimpleQueue()
        started = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        self._prefix = f"predictions-{socket.gethostname()}-{os.getpid()}-{started}"
        self._sequence = 0
        self._file: IO[str] | None = None
        self._size = 0
        self._thread = threading.Thread(target=self._run, name="prediction-log", daemon=True)

    def start(self) -> None:
        """Create the folder (so a bad PREDICTION_LOG_DIR fails at start-up) and start writing."""
        try:
            self._directory.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=self._directory):
                pass
        except OSError as error:
            raise UserError(
                f"PREDICTION_LOG_DIR={self._directory}: cannot write there ({error.strerror})"
            ) from None
        self._thread.start()

    def write(self, item: LoggedRequest) -> None:
        """Queue one request's records; returns at once."""
        self._queue.put(item)

    def close(self) -> None:
        """Write everything queued, then close the file."""
        self._queue.put(None)
        self._thread.join()

    def _open_next(self) -> None:
        if self._file is not None:
            self._file.close()
        self._sequence += 1
        path = self._directory / f"{self._prefix}-{self._sequence:04d}.jsonl"
        self._file = path.open("a", encoding="ascii")
        self._size = 0

    def _run(self) -> None:
        done = False
        while not done:
            items = [self._queue.get()]
            while len(items) < _DRAIN_LIMIT and not self._queue.empty():
                items.append(self._queue.get_nowait())
            done = None in items
            try:
                for item in items:
                    if item is not None:
                        self._append(item.lines())
                if self._file is not None:
                    self._file.flush()
            except (OSError, ValueError):
                logger.exception("prediction log: could not write %d request(s)", len(items))
        if self._file is not None:
            self._file.close()

    def _append(self, text: str) -> None:
        if self._file is None or self._size >= self._max_bytes:
            self._open_next()
        assert self._file is not None
        self._file.write(text)
        self._size += len(text)  # JSON is written as ASCII: one character, one byte
