"""What several tests share: paths, factories, local servers and assertions (no fixtures here)."""

import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from {{ cookiecutter.package_name }}.io.prediction_log import FIELDS, FILE_PATTERN

# The project's root: configs, sample data and the committed baseline are read from here.
PROJECT = Path(__file__).resolve().parent.parent


def registered_versions(name: str) -> list[str]:
    """Version numbers registered under a model name in the current registry, oldest first."""
    from mlflow.tracking import MlflowClient

    from {{ cookiecutter.package_name }}.io import registry

    registry.init_registry()
    versions = MlflowClient().search_model_versions(f"name='{name}'")
    return sorted((str(v.version) for v in versions), key=int)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def assert_one_line_error(stderr: str, *fragments: str) -> None:
    """A user mistake is reported as one `error: ...` line holding each fragment, no traceback."""
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: "), stderr
    for fragment in fragments:
        assert fragment in lines[0], stderr


@dataclass
class Webhook:
    """A webhook on 127.0.0.1 that fails its first `failures` requests with HTTP 500."""

    url: str
    failures: int = 0
    received: list[dict[str, Any]] = field(default_factory=list)
    requests: int = 0


def read_prediction_log(
    directory: Path,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    model_name: str | None = None,
    model_version: str | None = None,
) -> tuple[pd.DataFrame, int]:
    """The prediction log read line by line in plain Python: the reference reader of its format.

    One row per predicted row (the fields, `timestamp` as a UTC datetime, then one column per
    feature) and the number of malformed lines. `start` is inclusive, `end` exclusive (naive
    datetimes are UTC); name and version match exactly. The monitoring job's DuckDB reader is
    tested to agree with it.
    """
    assert directory.is_dir(), f"no prediction log folder {directory}"
    lower, upper = _utc(start), _utc(end)
    columns = [name for name in FIELDS if name != "features"]
    rows: list[dict[str, Any]] = []
    malformed = 0
    for path in sorted(directory.glob(FILE_PATTERN)):
        for record in _log_records(path):
            stamp = _timestamp(record) if record is not None else None
            if record is None or stamp is None:
                malformed += 1
                continue
            if (
                (lower is not None and stamp < lower)
                or (upper is not None and stamp >= upper)
                or (model_name is not None and record["model_name"] != model_name)
                or (model_version is not None and record["model_version"] != model_version)
            ):
                continue
            rows.append({**{key: record.get(key) for key in columns}, **record["features"]})
    frame = pd.DataFrame(rows, columns=None if rows else columns)
    frame = frame.infer_objects()  # e.g. a numeric feature with nulls: float with NaN
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True, format="ISO8601")
    frame = frame.sort_values(["timestamp", "request_id", "row"], kind="stable")
    return frame.reset_index(drop=True), malformed


def _log_records(path: Path) -> Iterator[dict[str, Any] | None]:
    """Each line of a log file as a record, or None where it breaks the format."""
    with path.open(encoding="utf-8", errors="replace") as lines:
        for line in lines:
            try:
                record = json.loads(line)
            except ValueError:
                yield None
                continue
            # A missing `probability` reads as null, as in the DuckDB reader.
            valid = isinstance(record, dict) and all(
                isinstance(record.get(key), kind) and not isinstance(record.get(key), bool)
                for key, kind in FIELDS.items()
            )
            yield record if valid else None


def _timestamp(record: dict[str, Any]) -> datetime | None:
    """The record's timestamp; None unless it is ISO 8601 with a UTC offset."""
    try:
        stamp = datetime.fromisoformat(record["timestamp"])
    except ValueError:
        return None
    return stamp if stamp.tzinfo is not None else None


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)
