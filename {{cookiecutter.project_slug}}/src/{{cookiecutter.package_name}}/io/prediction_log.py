"""The prediction log: its format, and the writer that appends to it off the request path.

Format (the monitoring job's input; keep it stable). Files in PREDICTION_LOG_DIR named
`predictions-<host>-<pid>-<start>-<n>.jsonl`, one set per process so workers never share a file;
a new file once one reaches PREDICTION_LOG_MAX_BYTES (a request's lines stay together). Each line
is one JSON object (UTF-8) with the fields of `FIELDS`:

    {"request_id": str, "row": int, "timestamp": ISO-8601 UTC, "model_name": str,
     "model_version": str, "run_id": str, "latency_ms": float,
     "features": {<feature>: value, ...}, "prediction": number, "probability": number | null}

Writing: requests put one item per request on a queue; one thread turns items into lines (a
large request's in a helper process, `LineEncoder`) and hands them to the operating system in one
write each time it has emptied the queue. `close()`
(graceful shutdown, SIGTERM) writes everything queued. A `kill -9` loses only what the thread
had not yet written, and may leave the last line of a file cut short; readers count such lines
as malformed. The writer is hand-written rather than `logging`'s queue and rotating-file handlers
because it is faster (one write per emptied queue, not one per record), keeps the format stable
(a file's name never changes once written, and a request's lines share one file) and knows
exactly which records a failed write lost.

A failed write (disk full, file too large, an I/O error) never reaches the request: the file is
cut back to the end of the last request written whole, the lost requests' rows are counted
(`WriteFailures`, passed to `on_failure`), the next write starts a new file, and the writer is
`failing` until a write succeeds again. While failing it re-probes the folder every
`PROBE_SECONDS`, writing as many bytes as the failed write held to a temporary file there, so it
recovers without waiting for requests. It logs one line when a burst of failures starts and one
when it ends, never one per request. This module imports neither FastAPI, pandas nor MLflow.
"""

import logging
import multiprocessing
import os
import queue
import signal
import socket
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any, overload

from pydantic_core import to_json

from ..core.errors import UserError
from .json_text import fill_rows, json_values

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
PROBE_SECONDS = 1.0
# Requests of at least this many rows are encoded by a helper process (`LineEncoder`).
OFFLOADED_ROWS = 500
_PROBE_MAX_BYTES = 1024 * 1024
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

    @property
    def rows(self) -> int:
        """How many rows (log lines) the request has."""
        return len(self.features)

    def lines(self) -> bytes:
        """The request's JSON lines (UTF-8), one per row in FIELDS' order, each ending in a newline.

        Built by column (`json_text`): each column's values are encoded to JSON once, by
        pydantic-core's compiled encoder, and the lines are assembled without Python code per
        row, so that the writer thread holds the GIL the requests share as briefly as it can.
        Every row has the same features. Raises ValueError if a value is NaN or infinite (such a
        line would not be JSON) or the rows' features differ.
        """
        columns = _by_column(self.features)
        shared = to_json(
            {
                "request_id": self.request_id,
                "row": 0,
                "timestamp": self.timestamp.isoformat(),
                "model_name": self.model_name,
                "model_version": self.model_version,
                "run_id": self.run_id,
                "latency_ms": round(self.latency_ms, 3),
            }
        )
        head, _, tail = shared[:-1].partition(b'"row":0')
        names = [to_json(name) for name in columns]
        segments = [
            head + b'"row":',
            tail + b',"features":{' + names[0] + b":",
            *(b"," + name + b":" for name in names[1:]),
            b'},"prediction":',
            b',"probability":',
            b"}\n",
        ]
        probabilities = [None] * self.rows if self.probabilities is None else self.probabilities
        values = [json_values(range(self.rows))]
        values += [json_values(column) for column in columns.values()]
        values += [json_values(self.predictions), json_values(probabilities)]
        return fill_rows(segments, values)


def _by_column(rows: Sequence[dict[str, Any]]) -> Mapping[str, Sequence[Any]]:
    """Rows' values by feature name; ValueError if the rows do not share their features."""
    if isinstance(rows, FeatureRows):
        return rows.columns
    names = rows[0].keys() if rows else {}.keys()
    if any(row.keys() != names for row in rows):
        raise ValueError("the rows of one request have different features")
    return {name: [row[name] for row in rows] for name in names}


class FeatureRows(Sequence[dict[str, Any]]):
    """Rows of a table held by column, each a dict built when read (by the writer thread)."""

    def __init__(self, columns: Mapping[str, Sequence[Any]]) -> None:
        self._columns = columns
        self._length = len(next(iter(columns.values())))

    def __len__(self) -> int:
        return self._length

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...
    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Any]]: ...
    def __getitem__(self, index: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self._length))]
        return {name: values[index] for name, values in self._columns.items()}

    @property
    def columns(self) -> Mapping[str, Sequence[Any]]:
        """The table by column, as given."""
        return self._columns

    def __iter__(self) -> Iterator[dict[str, Any]]:
        names = list(self._columns)
        for values in zip(*self._columns.values(), strict=True):
            yield dict(zip(names, values, strict=True))


def _encode_requests(requests: Connection, lines: Connection) -> None:
    """The helper process: sends back each request it receives as its lines, until input ends.

    SIGINT and SIGTERM are left to the server, which stops the helper by closing its input.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    while True:
        try:
            item: LoggedRequest = requests.recv()
        except EOFError:
            return
        try:
            lines.send((True, item.lines()))
        except ValueError as error:
            lines.send((False, str(error)))


class LineEncoder:
    """Turns logged requests into lines: large ones in a helper process, small ones in place.

    Encoding runs Python code that holds the GIL the serving threads share, for a time that
    grows with the rows; a request of OFFLOADED_ROWS rows or more is encoded by one spawned
    helper process instead (started at the first such request), so the calling thread only
    waits. Smaller requests, and every request once the helper has failed, are encoded in the
    calling thread. The lines are the same either way (`LoggedRequest.lines`), and so is a
    ValueError for a request that cannot be written. One thread uses an encoder at a time.
    """

    def __init__(self) -> None:
        self._helper: tuple[BaseProcess, Connection, Connection] | None = None
        self._failed = False

    def lines(self, item: LoggedRequest) -> bytes:
        """The request's lines (`LoggedRequest.lines`)."""
        if item.rows < OFFLOADED_ROWS or self._failed:
            return item.lines()
        try:
            _, requests, lines = self._helper or self._start()
            requests.send(item)
            written, text = lines.recv()
        except (OSError, EOFError) as error:  # the helper could not start, or it died
            logger.warning("prediction log: encoding in the server from now on (%r)", error)
            self._failed = True
            self.close()
            return item.lines()
        if not written:
            raise ValueError(text)
        return bytes(text)

    def close(self) -> None:
        """Stop the helper process, if one runs: its input ends, it exits."""
        if self._helper is None:
            return
        process, requests, lines = self._helper
        self._helper = None
        requests.close()
        process.join(timeout=5)
        if process.is_alive():
            process.kill()
            process.join()
        lines.close()

    def _start(self) -> tuple[BaseProcess, Connection, Connection]:
        context = multiprocessing.get_context("spawn")
        their_requests, requests = context.Pipe(duplex=False)
        lines, their_lines = context.Pipe(duplex=False)
        process = context.Process(
            target=_encode_requests,
            args=(their_requests, their_lines),
            name="prediction-log-encoder",
            daemon=True,
        )
        process.start()
        their_requests.close()  # only the helper holds these ends: its exit is an EOF here
        their_lines.close()
        self._helper = (process, requests, lines)
        return self._helper


@dataclass(frozen=True)
class WriteFailure:
    """One failed write: the requests and rows it lost, and the operating system's reason."""

    requests: int
    rows: int
    reason: str


class PredictionLogWriter:
    """Appends logged requests to this process's files from a background thread.

    `on_failure`, if given, is called from the writer thread once per failed write.
    """

    def __init__(
        self,
        directory: Path,
        max_bytes: int,
        on_failure: Callable[[WriteFailure], None] | None = None,
    ) -> None:
        self._directory = directory
        self._max_bytes = max_bytes
        self._on_failure = on_failure
        self._queue: queue.SimpleQueue[LoggedRequest | None] = queue.SimpleQueue()
        started = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        self._prefix = f"predictions-{socket.gethostname()}-{os.getpid()}-{started}"
        self._sequence = 0
        self._path: Path | None = None
        self._descriptor: int | None = None
        self._size = 0
        self._failed_bytes = 0  # size of the last failed write while failing, else 0
        self._dropped_in_burst = 0
        self._encoder = LineEncoder()
        self._thread = threading.Thread(target=self._run, name="prediction-log", daemon=True)

    @property
    def failing(self) -> bool:
        """The last write failed and no write or probe has succeeded since."""
        return self._failed_bytes > 0

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

    def _run(self) -> None:
        done = False
        while not done:
            try:
                first = self._queue.get(timeout=PROBE_SECONDS if self.failing else None)
            except queue.Empty:
                self._probe()
                continue
            items = [first]
            while len(items) < _DRAIN_LIMIT and not self._queue.empty():
                items.append(self._queue.get_nowait())
            done = None in items
            self._write([item for item in items if item is not None])
        self._close_file()
        self._encoder.close()

    def _write(self, items: list[LoggedRequest]) -> None:
        """Write the requests' lines, each request whole into one file, rotating by size."""
        chunk: list[tuple[LoggedRequest, bytes]] = []
        for number, item in enumerate(items):
            if self._descriptor is None or self._size >= self._max_bytes:
                if not self._flush(chunk, items[number:]) or not self._open_next(items[number:]):
                    return
                chunk = []
            try:
                text = self._encoder.lines(item)
            except ValueError as error:  # e.g. a NaN prediction: not JSON, never written
                self._drop([item], str(error))
                continue
            chunk.append((item, text))
            self._size += len(text)
        self._flush(chunk, [])

    def _open_next(self, pending: list[LoggedRequest]) -> bool:
        self._close_file()
        self._sequence += 1
        self._path = self._directory / f"{self._prefix}-{self._sequence:04d}.jsonl"
        try:
            self._descriptor = os.open(self._path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        except OSError as error:
            self._failed(pending, sum(len(item.lines()) for item in pending), error)
            return False
        self._size = 0
        return True

    def _flush(self, chunk: list[tuple[LoggedRequest, bytes]], rest: list[LoggedRequest]) -> bool:
        """Write `chunk` to the open file; on failure keep only whole requests, drop the rest."""
        data = b"".join(text for _, text in chunk)
        if not data:
            return True
        assert self._descriptor is not None
        start = os.lseek(self._descriptor, 0, os.SEEK_END)
        written = 0
        try:
            while written < len(data):
                written += os.write(self._descriptor, memoryview(data)[written:])
        except OSError as error:
            kept = 0
            whole = 0
            for _, text in chunk:
                if kept + len(text) > written:
                    break
                kept += len(text)
                whole += 1
            lost = [item for item, _ in chunk[whole:]] + rest
            self._cut(start + kept)
            self._failed(lost, len(data) - kept, error)
            return False
        self._succeeded()
        return True

    def _cut(self, size: int) -> None:
        """Cut the file back to `size` bytes (no half-written line) and start a new file next.

        A file left empty is removed, so a burst of failures leaves no empty files behind.
        """
        assert self._descriptor is not None and self._path is not None
        try:
            os.ftruncate(self._descriptor, size)
            if size == 0:
                self._path.unlink()
        except OSError:
            logger.warning("prediction log: could not cut a half-written line from %s", self._path)
        self._close_file()

    def _failed(self, lost: list[LoggedRequest], size: int, error: OSError) -> None:
        reason = error.strerror or str(error)
        if not self.failing:
            logger.error(
                "prediction log: cannot write to %s (%s); dropping records until it can",
                self._directory,
                reason,
            )
        self._failed_bytes = max(1, min(size, _PROBE_MAX_BYTES))
        self._drop(lost, reason)

    def _drop(self, lost: list[LoggedRequest], reason: str) -> None:
        """Count requests that will never be written."""
        rows = sum(item.rows for item in lost)
        if not self.failing:  # not a burst of write failures: say so each time
            logger.error("prediction log: dropped %d row(s): %s", rows, reason[:200])
        self._dropped_in_burst += rows
        if self._on_failure is not None:
            self._on_failure(WriteFailure(len(lost), rows, reason))

    def _succeeded(self) -> None:
        if self.failing:
            logger.warning(
                "prediction log: writing to %s again; %d row(s) were dropped",
                self._directory,
                self._dropped_in_burst,
            )
        self._failed_bytes = 0
        self._dropped_in_burst = 0

    def _probe(self) -> None:
        """While failing: write as much as the failed write held to a scratch file there.

        The folder is created again if it was removed (the next file is then opened in it).
        """
        try:
            self._directory.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=self._directory) as scratch:
                scratch.write(bytes(self._failed_bytes))
                scratch.flush()
        except OSError:
            return
        self._succeeded()

    def _close_file(self) -> None:
        if self._descriptor is not None:
            os.close(self._descriptor)
            self._descriptor = None
