"""The prediction log: one JSON line per predicted row, written off the request path; its reader.

Format (the monitoring job's input; keep it stable). Files in PREDICTION_LOG_DIR named
`predictions-<host>-<pid>-<start>-<n>.jsonl`, one set per process so workers never share a file;
a new file once one reaches PREDICTION_LOG_MAX_BYTES (a request's lines stay together). Each line:

    {"request_id": str, "row": int, "timestamp": ISO-8601 UTC, "model_name": str,
     "model_version": str, "run_id": str, "latency_ms": float,
     "features": {<feature>: value, ...}, "prediction": number, "probability": number | null}

Writing: requests put one item per request on a queue; one thread turns items into lines, writes
them, and flushes them to the operating system each time it has emptied the queue. `close()`
(graceful shutdown, SIGTERM) writes everything queued. A `kill -9` loses only what the thread
had not yet flushed, and may leave the last line of a file cut short; the reader counts such
lines as malformed. This module imports neither FastAPI nor MLflow.
"""

import json
import logging
import os
import queue
import socket
import tempfile
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import pandas as pd

from ..core.errors import UserError

FILE_PATTERN = "predictions-*.jsonl"
COLUMNS = (
    "request_id",
    "row",
    "timestamp",
    "model_name",
    "model_version",
    "run_id",
    "latency_ms",
    "prediction",
    "probability",
)
_FIELD_TYPES: dict[str, type | tuple[type, ...]] = {
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


def _records(path: Path) -> Iterator[dict[str, Any] | None]:
    """Each line of a log file as a record, or None where the line is malformed."""
    with path.open(encoding="utf-8", errors="replace") as lines:
        for line in lines:
            try:
                record = json.loads(line)
            except ValueError:
                yield None
                continue
            valid = isinstance(record, dict) and all(
                isinstance(record.get(key), kind) and not isinstance(record.get(key), bool)
                for key, kind in _FIELD_TYPES.items()
            )
            yield record if valid else None


def read_prediction_log(
    directory: Path,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    model_name: str | None = None,
    model_version: str | None = None,
) -> tuple[pd.DataFrame, int]:
    """Read every log file in a folder: one row per predicted row, and the malformed-line count.

    Columns: the record fields (timestamp as UTC datetime), then one column per feature. `start`
    is inclusive and `end` exclusive (naive datetimes are taken as UTC); the name and version
    filters match exactly. Malformed lines (e.g. a line cut short by `kill -9`) are counted,
    never silently dropped.
    """
    if not directory.is_dir():
        raise UserError(f"prediction log folder {directory} not found; check PREDICTION_LOG_DIR")
    lower, upper = _utc(start), _utc(end)
    rows: list[dict[str, Any]] = []
    malformed = 0
    for path in sorted(directory.glob(FILE_PATTERN)):
        for record in _records(path):
            if record is None:
                malformed += 1
                continue
            try:
                stamp = datetime.fromisoformat(record["timestamp"])
            except ValueError:
                stamp = None
            if stamp is None or stamp.tzinfo is None:
                malformed += 1
                continue
            if (
                (lower is not None and stamp < lower)
                or (upper is not None and stamp >= upper)
                or (model_name is not None and record["model_name"] != model_name)
                or (model_version is not None and record["model_version"] != model_version)
            ):
                continue
            features = record.pop("features")
            # A missing optional key (probability) reads as null, as in the DuckDB reader.
            rows.append({**{key: record.get(key) for key in COLUMNS}, **features})
    frame = pd.DataFrame(rows, columns=None if rows else list(COLUMNS))
    frame = frame.infer_objects()  # e.g. a numeric feature with nulls: float with NaN
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True, format="ISO8601")
    frame = frame.sort_values(["timestamp", "request_id", "row"], kind="stable")
    return frame.reset_index(drop=True), malformed


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)
