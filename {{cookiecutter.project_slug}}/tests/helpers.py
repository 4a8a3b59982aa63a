"""What several tests share: paths, factories, local servers and assertions (no fixtures here).

The data factories build rows from `schema.yaml`, not from the sample: valid raw rows from each
column's rules, model inputs from the features, and rows that break exactly one rule. So the
tests check the machinery on whatever schema the project has (after `schema infer`, too).
"""

import contextlib
import json
import math
import os
import shutil
import signal
import socket
import subprocess
import typing
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel

from {{ cookiecutter.package_name }}.core.config import ProjectConfig, load_config
from {{ cookiecutter.package_name }}.core.schema import RawColumn, schema
from {{ cookiecutter.package_name }}.io.prediction_log import FIELDS, FILE_PATTERN

# The project's root: configs, data and the committed baseline are read from here.
PROJECT = Path(__file__).resolve().parent.parent
# Text values for text columns without an allowed list: spaces, quotes, dots, other letters.
TEXTS = ("alpha", "Beta two", "gämma", "d'elta", "e.psilon", "zeta-6", "ēta", "théta")
# A span for numbers and dates that have no bound on a side.
NUMBER_SPAN, DATE_SPAN = 100, timedelta(days=5 * 365)
Value = str | int | float | date | None


def project_config(name: str = "smoke.yaml", **data: Any) -> ProjectConfig:
    """A shipped config with its raw data path made absolute (and `data` fields replaced)."""
    config = load_config(PROJECT / "configs" / name)
    raw = PROJECT / config.data.raw_path  # an absolute raw_path stays as it is
    return config.model_copy(
        update={"data": config.data.model_copy(update={"raw_path": raw, **data})}
    )


def _config_files(section: str, key: str, default: str | None = None) -> list[Path]:
    """Files the shipped configs name at section.key that exist inside the project."""
    found: set[Path] = set()
    for path in sorted((PROJECT / "configs").glob("*.yaml")):
        values = yaml.safe_load(path.read_text())
        part = values.get(section) if isinstance(values, dict) else None
        name = part.get(key, default) if isinstance(part, dict) else None
        if isinstance(name, str) and not Path(name).is_absolute() and (PROJECT / name).is_file():
            found.add(Path(name))
    return sorted(found)


def copy_project(root: Path) -> None:
    """Copy into `root` the configs, the data they read and the committed metrics baseline.

    Nothing else: not what an earlier run left in the project (features, registry, candidate
    metrics, logs).
    """
    shutil.copytree(PROJECT / "configs", root / "configs")
    data = _config_files("data", "raw_path")
    baselines = _config_files("gate", "baseline", "metrics/baseline.json")
    for path in [*data, *baselines]:
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(PROJECT / path, root / path)


def _bounds(column: RawColumn) -> tuple[Any, Any]:
    """The range valid values are drawn from: the column's bounds, or a span beside them."""
    low, high = column.minimum, column.maximum
    if column.dtype == "date":
        start = low if isinstance(low, date) else None
        end = high if isinstance(high, date) else None
        start = start or (end - DATE_SPAN if end else date(2020, 1, 1))
        return start, min(end, start + DATE_SPAN) if end else start + DATE_SPAN
    start_number = float(low) if isinstance(low, int | float) else None
    end_number = float(high) if isinstance(high, int | float) else None
    if start_number is None:
        start_number = end_number - NUMBER_SPAN if end_number is not None else 0.0
    if end_number is None:
        end_number = start_number + NUMBER_SPAN
    if column.dtype == "int64":
        return math.ceil(start_number), math.floor(end_number)
    return start_number, end_number


def _typed(column: RawColumn, text: str) -> Value:
    """A value given as text (an allowed value, the positive class) in the column's type."""
    if column.dtype == "int64":
        return int(float(text))
    if column.dtype == "float64":
        return float(text)
    if column.dtype == "date":
        return date.fromisoformat(text)
    return text


def _values(column: RawColumn, rows: int, rng: np.random.Generator) -> list[Value]:
    """`rows` values that follow the column's type, allowed values, range and uniqueness."""
    if column.allowed is not None:
        return [_typed(column, str(v)) for v in rng.choice(np.array(column.allowed), rows)]
    if column.dtype == "string":
        if column.unique:
            return [f"id-{i:06d}" for i in rng.permutation(rows)]
        return [str(v) for v in rng.choice(np.array(TEXTS), rows)]
    low, high = _bounds(column)
    if column.dtype == "date":
        if column.unique and column.maximum is None:  # room for `rows` distinct dates
            high = max(high, low + timedelta(days=rows))
        days = (high - low).days
        offsets = rng.permutation(rows) if column.unique else rng.integers(0, days + 1, rows)
        assert not column.unique or rows <= days + 1, f"{column.name}: too few dates for {rows}"
        return [low + timedelta(days=int(d)) for d in offsets]
    if column.dtype == "int64":
        if column.unique and column.maximum is None:  # room for `rows` distinct numbers
            high = max(high, low + rows)
        assert not column.unique or rows <= high - low + 1, f"{column.name}: too few values"
        drawn = low + rng.permutation(rows) if column.unique else rng.integers(low, high + 1, rows)
        return [int(v) for v in drawn]
    numbers = np.clip(np.round(rng.uniform(low, high, rows), 3), low, high)
    if column.unique:
        numbers = low + (high - low) * (rng.permutation(rows) + 0.5) / rows
    return [float(v) for v in numbers]


def negative_class() -> str:
    """A valid raw value of a classifier's target other than `positive` (the 0 class)."""
    contract = schema()
    positive = contract.positive
    assert positive is not None, "a regression schema has no classes"
    column = contract.column(contract.target)
    if column.allowed is not None:
        return next(v for v in column.allowed if v != positive)
    if column.dtype == "string":
        return next(v for v in TEXTS if v != positive)
    low, high = _bounds(column)
    candidates = [low, high] if column.dtype == "date" else [low, high, 0, 1, -1]
    for value in candidates:
        text = value.isoformat() if isinstance(value, date) else str(_typed(column, str(value)))
        if text != positive and _valid(column, _typed(column, text)):
            return text
    raise AssertionError(f"no valid value of {contract.target} besides {positive}")


def _valid(column: RawColumn, value: Value) -> bool:
    low, high = column.minimum, column.maximum
    if isinstance(value, date) and not isinstance(value, datetime):
        return (not isinstance(low, date) or value >= low) and (
            not isinstance(high, date) or value <= high
        )
    if isinstance(value, int | float):
        return (not isinstance(low, int | float) or value >= low) and (
            not isinstance(high, int | float) or value <= high
        )
    return True


def raw_target(labels: list[float]) -> list[str]:
    """Labels as the model learns them (1/0, or numbers) as raw target values, as text."""
    contract = schema()
    if contract.positive is None:
        return [repr(float(label)) for label in labels]
    negative = negative_class()
    return [contract.positive if label == 1 else negative for label in labels]


def raw_rows(rows: int, seed: int = 0) -> pd.DataFrame:
    """Valid raw rows made from schema.yaml's column rules (not from the sample data).

    Values follow each column's type, allowed values and range; nullable columns have missing
    values (None), unique columns distinct ones, and a classifier's target holds both the
    positive class and another one. Columns are of object type, written as text by `to_csv`.
    """
    contract = schema()
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(index=range(rows))
    for column in contract.raw_columns:
        values = _values(column, rows, rng)
        if column.name == contract.target and contract.positive is not None:
            classes = [_typed(column, contract.positive), _typed(column, negative_class())]
            values = [classes[i] for i in rng.integers(0, 2, rows)]
            values[: min(rows, 2)] = classes[: min(rows, 2)]
        elif column.nullable and column.name not in (contract.target, contract.id_column):
            missing = rng.random(rows) < 0.15
            missing[rng.integers(0, rows)] = True
            values = [None if gone else value for value, gone in zip(values, missing, strict=True)]
        frame[column.name] = pd.Series(values, dtype=object)
    return frame


def write_csv(frame: pd.DataFrame, path: Path) -> Path:
    """Write raw rows as a CSV (missing values as empty fields), creating the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)
    return path


def feature_records(rows: int, seed: int = 0) -> list[dict[str, float | str | None]]:
    """Model inputs as a client sends them: one key per schema feature, some values null."""
    contract = schema()
    rng = np.random.default_rng(seed)
    raw = {c.name: c for c in contract.raw_columns}
    columns: dict[str, list[float | str | None]] = {}
    for feature in contract.features:
        values: list[Value]
        if feature.name in raw:
            values = _values(raw[feature.name], rows, rng)
        elif feature.kind == "numeric":
            values = [float(v) for v in np.round(rng.uniform(0, NUMBER_SPAN, rows), 3)]
        else:
            values = [str(v) for v in rng.choice(np.array(TEXTS), rows)]
        missing = rng.random(rows) < 0.15
        columns[feature.name] = [
            None if gone or value is None else _feature_value(feature.kind, value)
            for value, gone in zip(values, missing, strict=True)
        ]
    return [{name: columns[name][i] for name in columns} for i in range(rows)]


def _feature_value(kind: str, value: Value) -> float | str:
    if kind == "categorical":
        return str(value)
    if isinstance(value, date):
        return float(value.toordinal())
    assert isinstance(value, int | float), value
    return float(value)


def not_a_feature() -> str:
    """A column name that is none of the schema's features."""
    names = set(schema().feature_names())
    return next(name for i in range(len(names) + 1) if (name := "colour" + "_" * i) not in names)


@dataclass(frozen=True)
class RuleBreak:
    """One rule of one raw column, broken in one row, and what the validation must say."""

    column: str
    rule: str
    value: Value
    message: str

    def __str__(self) -> str:
        return f"{self.column}-{self.rule}"


def rule_breaks() -> list[RuleBreak]:
    """Every rule schema.yaml states, each as one value that breaks that rule alone."""
    found = []
    for column in schema().raw_columns:
        name = column.name

        def says(text: str, column_name: str = name) -> str:
            return f"column '{column_name}': 1 value(s) {text}"

        if column.dtype != "string":
            bad = f"not-a-{column.dtype}"
            found.append(RuleBreak(name, "type", bad, says(f"not a valid {column.dtype}")))
        if not column.nullable:
            found.append(RuleBreak(name, "null", None, says("missing (the column is required)")))
        if column.allowed is not None:
            text = f"not one of {', '.join(column.allowed)}"
            found.append(RuleBreak(name, "allowed", _outside(column, column.allowed), says(text)))
        if column.minimum is not None:
            below = _beyond(column, column.minimum, -1)
            found.append(
                RuleBreak(name, "minimum", below, says(f"below the minimum {column.minimum}"))
            )
        if column.maximum is not None:
            above = _beyond(column, column.maximum, 1)
            found.append(
                RuleBreak(name, "maximum", above, says(f"above the maximum {column.maximum}"))
            )
        if column.unique:
            found.append(RuleBreak(name, "unique", None, says("duplicated")))
    return found


def _outside(column: RawColumn, allowed: tuple[str, ...]) -> Value:
    """A value of the column's type that is none of the allowed ones."""
    if column.dtype == "string":
        return next(
            v for i in range(len(allowed) + 1) if (v := "no-such-value" + "!" * i) not in allowed
        )
    values = [_typed(column, text) for text in allowed]
    if column.dtype == "date":
        return max(v for v in values if isinstance(v, date)) + timedelta(days=1)
    return max(v for v in values if isinstance(v, int | float)) + 1


def _beyond(column: RawColumn, bound: float | date, direction: int) -> Value:
    """A value just past a bound, in the column's type."""
    if isinstance(bound, date):
        return bound + timedelta(days=direction)
    if column.dtype == "int64":
        return (math.floor(bound) - 1) if direction < 0 else (math.ceil(bound) + 1)
    return float(bound) + direction * (1.0 + abs(float(bound)) * 0.1)


def broken_rows(broken: RuleBreak, rows: int = 40, seed: int = 0) -> pd.DataFrame:
    """Valid raw rows (`raw_rows`) with `broken`'s rule broken in row 3 only."""
    frame = raw_rows(rows, seed)
    values = frame[broken.column].tolist()
    if broken.rule == "unique":  # another row's value, again
        values[3] = next(v for i, v in enumerate(values) if i != 3 and v is not None)
    else:
        values[3] = broken.value
    frame[broken.column] = pd.Series(values, dtype=object)
    return frame


def run_process(
    command: list[str],
    *,
    timeout: float,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
) -> "subprocess.CompletedProcess[str]":
    """Run a command to its end in a process group of its own, its output captured as text.

    Whatever is left of the group afterwards (a worker, a browser's helpers) is killed, also when
    the command fails or runs out of time (then `subprocess.TimeoutExpired` is raised).
    """
    process = subprocess.Popen(
        command,
        cwd=cwd,
        env=env,
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        out, err = process.communicate(timeout=timeout)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    return subprocess.CompletedProcess(command, process.returncode, out, err)


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


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The model an annotation holds: `Model`, `Model | None` or `dict[str, Model]`'s values."""
    for part in (annotation, *typing.get_args(annotation)):
        if isinstance(part, type) and issubclass(part, BaseModel):
            return part
    return None


def undocumented(model: type[BaseModel], prefix: str = "") -> list[str]:
    """The keys the docs' reference tables would show without a meaning: fields without a
    description, sections (nested models, also a dict's values) without a docstring."""
    missing = [] if model.__doc__ else [prefix.rstrip(".") or model.__name__]
    for name, info in model.model_fields.items():
        inner, mapping = _model_in(info.annotation), typing.get_origin(info.annotation) is dict
        if (inner is None or mapping) and not info.description:
            missing.append(f"{prefix}{name}")
        if inner is not None:
            missing += undocumented(inner, f"{prefix}{name}." + ("<name>." if mapping else ""))
    return missing


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
    directory: Path | str,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    model_name: str | None = None,
    model_version: str | None = None,
) -> tuple[pd.DataFrame, int]:
    """The prediction log read line by line in plain Python: the reference reader of its format.

    One row per predicted row (the fields, `timestamp` as a UTC datetime, then one column per
    feature) and the number of malformed lines. `directory` is a path or its text; `start` is
    inclusive, `end` exclusive (naive datetimes are UTC); name and version match exactly. The
    monitoring job's DuckDB reader is tested to agree with it.
    """
    directory = Path(directory)
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
