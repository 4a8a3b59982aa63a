"""The data contract: raw columns, target, row key and features, read from `schema.yaml`.

The file sits next to this module and is the one definition of the project's columns:
features, training (the model signature), serving (the request model) and monitoring all read
their columns from here. `schema infer` writes the file; people review and edit it. Reading it
is cached: the file is parsed and checked once per process, and a broken file is one UserError.
"""

import functools
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal, cast, get_args

import yaml

from .errors import UserError

DType = Literal["string", "int64", "float64", "date"]
Kind = Literal["numeric", "categorical"]
ProblemType = Literal["classification", "regression"]

SCHEMA_FILE = Path(__file__).with_name("schema.yaml")
MISSING_CATEGORY = "unknown"
_COLUMN_KEYS = {"type", "nullable", "allowed", "min", "max", "unique", "feature"}
# The prediction log's own fields and monitoring's columns: a feature may not be called so.
RESERVED_NAMES = frozenset(
    {"timestamp", "request_id", "row", "model_name", "model_version", "run_id", "latency_ms"}
    | {"features", "prediction", "probability", "sample_key"}
)


@dataclass(frozen=True)
class RawColumn:
    """A column of the raw data and the rules every value must follow."""

    name: str
    dtype: DType
    nullable: bool = False
    allowed: tuple[str, ...] | None = None
    minimum: float | date | None = None
    maximum: float | date | None = None
    unique: bool = False
    feature: bool = True


@dataclass(frozen=True)
class FeatureColumn:
    """A column the model sees, and how the model treats it (numbers are float64)."""

    name: str
    dtype: DType
    kind: Kind


@dataclass(frozen=True)
class Schema:
    """The parsed contract: raw columns, target, optional id, and features in model order."""

    raw_columns: tuple[RawColumn, ...]
    target: str
    positive: str | None
    id_column: str | None
    derived: tuple[FeatureColumn, ...]

    @property
    def features(self) -> tuple[FeatureColumn, ...]:
        """Raw columns that enter the model (as they are), then the derived ones."""
        passed = tuple(
            FeatureColumn(c.name, *_feature_type(c))
            for c in self.raw_columns
            if c.feature and c.name not in (self.target, self.id_column)
        )
        return passed + self.derived

    def column(self, name: str) -> RawColumn:
        """The raw column called `name`."""
        return next(c for c in self.raw_columns if c.name == name)

    def feature_names(self, kind: Kind | None = None) -> list[str]:
        """Names of the model's input columns, optionally only those of one kind."""
        return [c.name for c in self.features if kind is None or c.kind == kind]


def _feature_type(column: RawColumn) -> tuple[DType, Kind]:
    return ("string", "categorical") if column.dtype == "string" else ("float64", "numeric")


def _fail(path: Path, message: str) -> UserError:
    return UserError(f"{path}: {message}; fix the file or rerun `schema infer`")


def _raw_column(path: Path, name: object, spec: object) -> RawColumn:
    if not isinstance(name, str) or not name:
        raise _fail(path, f"column name {name!r} is not a non-empty text")
    if not isinstance(spec, dict):
        raise _fail(path, f"columns.{name}: expected a mapping of rules such as type: float64")
    unknown = sorted(set(spec) - _COLUMN_KEYS)
    if unknown:
        raise _fail(path, f"columns.{name}: unknown key(s) {', '.join(map(str, unknown))}")
    dtype = cast(DType, spec.get("type"))
    if dtype not in get_args(DType):
        raise _fail(
            path, f"columns.{name}.type: {dtype!r} is not one of {', '.join(get_args(DType))}"
        )
    allowed = spec.get("allowed")
    if allowed is not None and (not isinstance(allowed, list) or not allowed):
        raise _fail(path, f"columns.{name}.allowed: expected a non-empty list of values")
    bounds = {key: spec.get(key) for key in ("min", "max")}
    for key, bound in bounds.items():
        wanted = date if dtype == "date" else (int, float)
        if bound is not None and (not isinstance(bound, wanted) or isinstance(bound, bool)):
            raise _fail(path, f"columns.{name}.{key}: {bound!r} is not a {dtype} bound")
        if bound is not None and dtype == "string":
            raise _fail(path, f"columns.{name}.{key}: a string column has no range")
    flags = {
        key: spec.get(key, default)
        for key, default in (("nullable", False), ("unique", False), ("feature", True))
    }
    for key, flag in flags.items():
        if not isinstance(flag, bool):
            raise _fail(path, f"columns.{name}.{key}: expected true or false, got {flag!r}")
    return RawColumn(
        name=name,
        dtype=dtype,
        nullable=flags["nullable"],
        allowed=None if allowed is None else tuple(str(v) for v in allowed),
        minimum=bounds["min"],
        maximum=bounds["max"],
        unique=flags["unique"],
        feature=flags["feature"],
    )


def parse_schema(data: Any, path: Path) -> Schema:
    """Check a parsed schema file and build the Schema; one-line UserError on the first problem."""
    if not isinstance(data, dict):
        raise _fail(path, "expected a mapping with target, id, columns and derived")
    unknown = sorted(set(data) - {"target", "positive", "id", "columns", "derived"})
    if unknown:
        raise _fail(path, f"unknown key(s) {', '.join(map(str, unknown))}")
    columns = data.get("columns")
    if not isinstance(columns, dict) or not columns:
        raise _fail(path, "columns: expected a mapping of column name to rules")
    raw = tuple(_raw_column(path, name, spec) for name, spec in columns.items())
    names = [c.name for c in raw]
    target, id_column = data.get("target"), data.get("id")
    if target not in names:
        raise _fail(path, f"target: {target!r} is not one of the columns")
    if id_column is not None and id_column not in names:
        raise _fail(path, f"id: {id_column!r} is not one of the columns (or null for none)")
    if id_column == target:
        raise _fail(path, "id: the id column cannot be the target")
    positive = data.get("positive")
    if positive is not None and not isinstance(positive, str | int | bool):
        raise _fail(path, f"positive: {positive!r} is not a single value")
    derived = data.get("derived") or {}
    if not isinstance(derived, dict):
        raise _fail(path, "derived: expected a mapping of feature name to numeric or categorical")
    made = []
    for name, kind in derived.items():
        if kind not in get_args(Kind):
            raise _fail(path, f"derived.{name}: {kind!r} is not numeric or categorical")
        if name in names:
            raise _fail(path, f"derived.{name}: a raw column has that name; rename one")
        made.append(FeatureColumn(str(name), "float64" if kind == "numeric" else "string", kind))
    schema = Schema(
        raw_columns=raw,
        target=target,
        positive=None
        if positive is None
        else str(positive).lower()
        if isinstance(positive, bool)
        else str(positive),
        id_column=id_column,
        derived=tuple(made),
    )
    dated = [
        c.name for c in raw if c.dtype == "date" and c.feature and c.name not in (target, id_column)
    ]
    if dated:
        raise _fail(
            path,
            f"columns.{dated[0]}: a date is not a model input; set feature: false and derive "
            "a feature from it in features.py (DERIVED_FEATURES)",
        )
    if not schema.features:
        raise _fail(path, "no feature: every column is the target, the id or has feature: false")
    clash = sorted(RESERVED_NAMES & set(schema.feature_names()))
    if clash:
        raise _fail(
            path,
            f"feature(s) {', '.join(clash)}: the prediction log uses the name; rename the column "
            "or set feature: false",
        )
    return schema


def _text(value: str | int | bool | None) -> str | None:
    """A YAML scalar as the text a value reads as (true, not True)."""
    if value is None:
        return None
    return str(value).lower() if isinstance(value, bool) else str(value)


@functools.cache
def load_schema(path: Path = SCHEMA_FILE) -> Schema:
    """Read and check a schema file (once per process and path)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(
            f"schema file {path} not found; write one with `schema infer PATH --target COLUMN`"
        ) from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise UserError(f"{path}: not valid YAML{where}; fix the syntax") from None
    return parse_schema(data, path)


def schema() -> Schema:
    """The project's schema (`schema.yaml` next to this module)."""
    return load_schema(SCHEMA_FILE)


def feature_names(kind: Kind | None = None) -> list[str]:
    """Names of the model's input columns, optionally only those of one kind."""
    return schema().feature_names(kind)


def target() -> str:
    """The column the model predicts."""
    return schema().target
