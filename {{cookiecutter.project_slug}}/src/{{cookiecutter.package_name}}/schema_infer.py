"""`schema infer`: read a CSV or Parquet table and write the project's schema.yaml from it.

One DuckDB pass profiles every column (type, missing values, distinct values, range); a second
lists the values of the low-cardinality text columns. The result is a reviewed file, not a cache:
when schema.yaml exists and differs, the change is shown as a diff and nothing is written unless
`overwrite` is set.

Rules (the how-to in the README repeats them):
- type: the column's type in a full read of the file (every row, so a text value in row 90,000 of
  a number column is seen); a text column whose values are mostly numbers is an error.
- nullable: the column has a missing value. A column with no value at all is an error.
- allowed: the sorted values of a text column with at most MAX_ALLOWED distinct values.
- min/max: the observed range widened by MARGIN of its span on each side (integers outward to
  whole numbers, floats to 4 significant digits); a column never below 0 keeps min >= 0. Dates get
  a min only (they grow).
- feature: every column but the target and the id, except dates and text with more than
  MAX_CATEGORIES distinct values (free text), and names the prediction log uses for its fields.
- the target proposes the problem type: two values -> classification (`positive` is 1, true, yes
  or else the rarer value), a number with more -> regression.
"""

import difflib
import math
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import ibis
import yaml

from .core.errors import UserError
from .core.schema import RESERVED_NAMES, SCHEMA_FILE, DType, ProblemType, parse_schema
from .io import data

MARGIN = 0.1
MAX_ALLOWED = 20
MAX_CATEGORIES = 200
NUMERIC_SHARE = 0.5  # a text column whose values are at least this share numbers is an error
POSITIVE_NAMES = ("1", "true", "yes", "y", "positive")


@dataclass(frozen=True)
class Profile:
    """What one pass over a column found."""

    name: str
    dtype: DType
    rows: int
    missing: int
    distinct: int
    minimum: Any = None
    maximum: Any = None
    numbers: int = 0  # text columns: values that read as numbers
    example: str | None = None  # text columns: one value that does not


@dataclass(frozen=True)
class InferredSchema:
    """The written text and what the command reports about it."""

    text: str
    problem_type: ProblemType
    rows: int
    features: int
    id_candidates: list[str]


def _dtype(name: str, kind: Any) -> DType:
    if kind.is_integer():
        return "int64"
    if kind.is_floating() or kind.is_decimal():
        return "float64"
    if kind.is_date() or kind.is_timestamp():
        return "date"
    if kind.is_string() or kind.is_boolean():
        return "string"
    raise UserError(
        f"column '{name}': type {kind} is not supported (string, integer, float, date, boolean); "
        "convert it in the data or drop the column"
    )


def profile(path: Path) -> list[Profile]:
    """Profile every column of the table at `path` in one query (plus one for text examples)."""
    con = data.connect()
    typed = data.read_typed(con, path)
    raw = data.read_raw(con, path)
    dtypes = {name: _dtype(name, kind) for name, kind in typed.schema().items()}
    counters: dict[str, ibis.Expr] = {"rows": raw.count()}
    for index, (name, dtype) in enumerate(dtypes.items()):
        column = raw[name]
        value = column.cast("string") if dtype == "string" else column.try_cast(dtype)
        counters[f"c{index}_missing"] = value.isnull().sum()
        counters[f"c{index}_distinct"] = value.nunique()
        if dtype == "string":
            counters[f"c{index}_numbers"] = value.try_cast("float64").notnull().sum()
        else:
            counters[f"c{index}_min"] = value.min()
            counters[f"c{index}_max"] = value.max()
    found = raw.aggregate(**counters).to_pyarrow().to_pylist()[0]
    rows = int(found["rows"])
    if rows == 0:
        raise UserError(f"{path}: the table has no rows; pass a file with data")
    profiles = []
    for index, (name, dtype) in enumerate(dtypes.items()):
        numbers = int(found.get(f"c{index}_numbers") or 0)
        example = None
        if dtype == "string" and numbers:
            text = raw[name].cast("string")
            odd = raw.filter(text.notnull() & text.try_cast("float64").isnull())
            example = odd.select(value=odd[name].cast("string")).limit(1).to_pyarrow()
            example = example.column("value")[0].as_py() if example.num_rows else None
        profiles.append(
            Profile(
                name=name,
                dtype=dtype,
                rows=rows,
                missing=int(found[f"c{index}_missing"] or 0),
                distinct=int(found[f"c{index}_distinct"] or 0),
                minimum=found.get(f"c{index}_min"),
                maximum=found.get(f"c{index}_max"),
                numbers=numbers,
                example=example,
            )
        )
    return profiles


def _values(path: Path, name: str) -> list[tuple[str, int]]:
    """A text column's values and how often each occurs, most frequent first."""
    con = data.connect()
    raw = data.read_raw(con, path)
    value = raw[name].cast("string")
    counts = raw.filter(value.notnull()).group_by(value=value).aggregate(n=ibis._.count())
    table = counts.order_by([ibis.desc("n"), "value"]).to_pyarrow().to_pylist()
    return [(str(row["value"]), int(row["n"])) for row in table]


def _check_column(column: Profile, path: Path) -> None:
    if column.missing == column.rows:
        raise UserError(
            f"{path}: column '{column.name}' has no value in any row; drop it from the data"
        )
    non_null = column.rows - column.missing
    if column.dtype == "string" and column.numbers >= NUMERIC_SHARE * non_null:
        bad = non_null - column.numbers
        raise UserError(
            f"{path}: column '{column.name}' holds numbers but {bad} value(s) are text "
            f"(e.g. {column.example!r}); make them numbers or leave them empty (missing)"
        )


def _round_out(value: float, up: bool, integer: bool) -> float | int:
    """Round away from the data: whole numbers, or 4 significant digits without float noise."""
    if integer:
        return int(math.ceil(value) if up else math.floor(value))
    if value == 0:
        return 0.0
    decimals = 3 - math.floor(math.log10(abs(value)))
    step = 10.0**-decimals
    outward = (math.ceil if up else math.floor)(value / step) * step
    return round(outward, max(decimals, 0))


def _range(column: Profile) -> dict[str, Any]:
    """min/max with the margin rule (see the module docstring)."""
    low, high = column.minimum, column.maximum
    if low is None or high is None:
        return {}
    if column.dtype == "date":
        low = low.date() if hasattr(low, "date") else low
        high = high.date() if hasattr(high, "date") else high
        span = max((high - low).days, 1)
        return {"min": low - timedelta(days=math.ceil(MARGIN * span))}
    span = float(high - low) or max(abs(float(high)), 1.0)
    lower = float(low) - MARGIN * span
    if low >= 0:
        lower = max(lower, 0.0)
    integer = column.dtype == "int64"
    return {
        "min": _round_out(lower, up=False, integer=integer),
        "max": _round_out(float(high) + MARGIN * span, up=True, integer=integer),
    }


def _positive(values: list[tuple[str, int]]) -> str:
    by_name = {value.lower(): value for value, _ in values}
    for name in POSITIVE_NAMES:
        if name in by_name:
            return by_name[name]
    return min(values, key=lambda item: (item[1], item[0]))[0]


def _problem_type(target: Profile, path: Path) -> ProblemType:
    if target.missing:
        raise UserError(
            f"{path}: target '{target.name}' is missing in {target.missing} row(s); "
            "drop those rows (a model cannot learn from them) or pick another target"
        )
    if target.distinct < 2:
        raise UserError(
            f"{path}: target '{target.name}' has one value only; a model needs at least two"
        )
    if target.distinct == 2:
        return "classification"
    if target.dtype in ("int64", "float64"):
        return "regression"
    raise UserError(
        f"{path}: target '{target.name}' has {target.distinct} text values; this project "
        "classifies two classes or predicts a number: pick such a target"
    )


def _scalar(value: Any) -> str:
    """One value as YAML on one line (quoted when it must be)."""
    text = yaml.safe_dump(value, allow_unicode=True, width=10_000)
    return text.removesuffix("\n").removesuffix("\n...").strip()


def _line(key: str, rules: dict[str, Any], note: str) -> str:
    """`  "name": {type: ..., ...}  # note` as one YAML line."""
    body = yaml.safe_dump(
        rules, default_flow_style=True, allow_unicode=True, sort_keys=False, width=10_000
    ).strip()
    return f"  {_scalar(key)}: {body}" + (f"  # {note}" if note else "")


def infer(
    path: Path,
    target: str,
    id_column: str | None,
    problem_type: ProblemType,
    command: str,
) -> InferredSchema:
    """Profile `path` and write schema.yaml's text for it; UserError (one line) on bad input."""
    profiles = {p.name: p for p in profile(path)}
    for name, option in ((target, "--target"), (id_column, "--id")):
        if name is not None and name not in profiles:
            raise UserError(
                f"{path}: {option} {name!r} is not a column; columns: {', '.join(profiles)}"
            )
    for column in profiles.values():
        _check_column(column, path)
    label = profiles[target]
    proposed = _problem_type(label, path)
    if proposed != problem_type:
        raise UserError(
            f"target '{target}' ({label.distinct} distinct values) makes a {proposed} problem "
            f"but the config says problem_type: {problem_type}; pick another target or render "
            f"the project with problem_type={proposed}"
        )
    if id_column is not None:
        key = profiles[id_column]
        if key.missing or key.distinct < key.rows:
            raise UserError(
                f"{path}: id column '{id_column}' has {key.rows - key.distinct} duplicated or "
                "missing value(s); pick a unique column or leave --id out"
            )
    lines = [
        f"# Written by `{command}` from {path} ({label.rows} rows).",
        "# Review it like code, then commit it. The rules: the top of schema_infer.py.",
        f"target: {_scalar(target)}",
    ]
    if proposed == "classification":
        positive = _positive(_values(path, target))
        lines.append(f"positive: {_scalar(positive)}  # the class the probability is about")
    if id_column is None:
        lines.append("id: null  # no row key: rows are ordered by their content")
    else:
        lines.append(f"id: {_scalar(id_column)}")
    lines.append("columns:")
    features = 0
    candidates = []
    for column in profiles.values():
        rules: dict[str, Any] = {"type": column.dtype}
        notes = [f"{column.missing / column.rows:.1%} missing"] if column.missing else []
        if column.missing:
            rules["nullable"] = True
        role = "target" if column.name == target else "id" if column.name == id_column else None
        feature = role is None
        if column.dtype == "string" and role != "id" and column.distinct <= MAX_ALLOWED:
            rules["allowed"] = sorted(value for value, _ in _values(path, column.name))
        elif column.dtype != "string" and not (role == "target" and proposed == "classification"):
            rules.update(_range(column))
        if column.name == id_column:
            rules["unique"] = True
        elif column.distinct == column.rows and column.dtype in ("string", "int64"):
            candidates.append(column.name)
        why: str | None
        if feature and column.dtype == "date":
            feature, why = False, "a date: derive a feature from it in features.py"
        elif feature and column.dtype == "string" and column.distinct > MAX_CATEGORIES:
            feature, why = False, f"free text ({column.distinct} values)"
        elif feature and column.name in RESERVED_NAMES:
            feature, why = False, "named like a prediction-log field: rename it to use it"
        else:
            why = role or ""
        if not feature and role is None:
            rules["feature"] = False
        features += feature
        lines.append(_line(column.name, rules, "; ".join(filter(None, [why, *notes]))))
    lines += [
        "# Features computed in features.py (DERIVED_FEATURES); none for a new table.",
        "derived: {}",
    ]
    text = "\n".join(lines) + "\n"
    parse_schema(yaml.safe_load(text), SCHEMA_FILE)  # what is written must load
    return InferredSchema(text, proposed, label.rows, features, candidates)


def diff(old: str, new: str, path: Path) -> str:
    """A unified diff from the current file to the inferred one ('' when equal but the header)."""
    strip = [line for line in old.splitlines(keepends=True) if not line.startswith("# Written by")]
    fresh = [line for line in new.splitlines(keepends=True) if not line.startswith("# Written by")]
    if strip == fresh:
        return ""
    return "".join(difflib.unified_diff(strip, fresh, f"{path} (now)", f"{path} (inferred)"))


@dataclass(frozen=True)
class Saved:
    """What `save` did: the diff to the existing file ('' for a new or equal one)."""

    diff: str
    written: bool
    unchanged: bool


def save(inferred: InferredSchema, path: Path, overwrite: bool) -> Saved:
    """Write the inferred schema to `path`, unless a different file is there and not `overwrite`."""
    current = path.read_text(encoding="utf-8") if path.is_file() else None
    change = "" if current is None else diff(current, inferred.text, path)
    if current is not None and not change:
        return Saved(diff="", written=False, unchanged=True)
    if change and not overwrite:
        return Saved(diff=change, written=False, unchanged=False)
    path.write_text(inferred.text, encoding="utf-8")
    return Saved(diff=change, written=True, unchanged=False)
