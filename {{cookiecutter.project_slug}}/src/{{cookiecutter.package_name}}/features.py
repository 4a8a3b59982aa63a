"""Feature pipeline: raw table -> validated -> features -> Parquet + manifest.

Written as Ibis expressions, so the same code runs on the embedded DuckDB or on Spark.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import ibis
import pandas as pd
from ibis.backends import BaseBackend

from .core.config import DataConfig, ProjectConfig
from .core.errors import UserError
from .core.schema import SCHEMA_FILE, RawColumn, schema
from .io import data

FEATURES_FILE = "features.parquet"
MANIFEST_FILE = "manifest.json"
# Without an id column, rows are ordered by these keys (a hash of the row, then the row's text).
ORDER_KEYS = ("__row_hash", "__row_text")
UNIT_SEPARATOR, NULL_MARK = "\x1f", "\x00"
_THIS_FILE = f"src/{__name__.replace('.', '/')}.py"


@dataclass(frozen=True)
class FeatureSet:
    """The features of one run, where they were written, and their manifest."""

    frame: pd.DataFrame
    path: Path
    manifest: dict[str, Any]

    @property
    def fingerprint(self) -> str:
        """Content hash of the feature table."""
        return str(self.manifest["fingerprint"])


def _typed_value(table: ibis.Table, column: RawColumn) -> ibis.Value:
    """A raw column in its schema type: text as it is, other types cast (null where invalid)."""
    raw = table[column.name]
    return raw.cast("string") if column.dtype == "string" else raw.try_cast(column.dtype)


def row_checks(table: ibis.Table, column: RawColumn) -> dict[str, tuple[str, ibis.Value]]:
    """The rules a single value must follow: rule -> (rule text, true where a row breaks it).

    Training counts these over the table; batch scoring finds the first row that breaks one.
    """
    raw, value = table[column.name], _typed_value(table, column)
    checks: dict[str, tuple[str, ibis.Value]] = {
        "type": (f"not a valid {column.dtype}", raw.notnull() & value.isnull()),
    }
    if not column.nullable:
        checks["null"] = ("missing (the column is required)", raw.isnull())
    if column.allowed is not None:
        checks["allowed"] = (
            f"not one of {', '.join(column.allowed)}",
            value.notnull() & ~value.isin(column.allowed),
        )
    if column.minimum is not None:
        checks["minimum"] = (f"below the minimum {column.minimum}", value < column.minimum)
    if column.maximum is not None:
        checks["maximum"] = (f"above the maximum {column.maximum}", value > column.maximum)
    return {rule: (text, flag.fill_null(False)) for rule, (text, flag) in checks.items()}


def _checks(table: ibis.Table, column: RawColumn) -> dict[str, tuple[str, ibis.Expr]]:
    """Violation counters for one column: rule text and a count of the rows that break it."""
    checks: dict[str, tuple[str, ibis.Expr]] = {
        rule: (text, flag.cast("int64").sum())
        for rule, (text, flag) in row_checks(table, column).items()
    }
    if column.unique:
        value = _typed_value(table, column)
        checks["unique"] = ("duplicated", value.count() - value.nunique())
    return checks


def missing_columns(table: ibis.Table, source: str, columns: list[RawColumn]) -> None:
    """Raise UserError naming the schema columns the table lacks."""
    missing = [c.name for c in columns if c.name not in table.columns]
    if missing:
        raise UserError(
            f"{source}: missing column(s) {', '.join(missing)} required by {SCHEMA_FILE.name}; "
            "add them to the data or run `schema infer` on it"
        )


def validate_raw(table: ibis.Table, source: str) -> None:
    """Check the raw table against schema.yaml in one query; raise UserError naming broken rules."""
    contract = schema()
    missing_columns(table, source, list(contract.raw_columns))
    rules: dict[str, tuple[str, str]] = {}
    counters: dict[str, ibis.Expr] = {}
    for index, column in enumerate(contract.raw_columns):
        for rule, (text, counter) in _checks(table, column).items():
            key = f"c{index}_{rule}"
            rules[key] = (column.name, text)
            counters[key] = counter.fill_null(0)
    counts = table.aggregate(**counters).to_pyarrow().to_pylist()[0]
    problems = [
        f"column '{rules[key][0]}': {count} value(s) {rules[key][1]}"
        for key, count in counts.items()
        if count
    ]
    if problems:
        raise UserError(
            f"{source}: {'; '.join(problems)}; fix the data or the rule in {SCHEMA_FILE.name}"
        )


@dataclass(frozen=True)
class DerivedFeature:
    """A feature computed from raw columns: what it reads, and the Ibis expression."""

    reads: tuple[str, ...]
    needs_as_of: bool
    compute: Callable[[ibis.Table, ibis.Scalar], ibis.Value]


def _tenure_days(t: ibis.Table, as_of: ibis.Scalar) -> ibis.Value:
    return as_of.delta(t.signup_date, unit="day")


def _tickets_per_year(t: ibis.Table, as_of: ibis.Scalar) -> ibis.Value:
    # Explicit float64 literals: Spark reads a bare 365.25 as a decimal and rounds the quotient.
    year, month = ibis.literal(365.25, "float64"), ibis.literal(1 / 12, "float64")
    tenure_years = ibis.greatest(_tenure_days(t, as_of).cast("float64") / year, month)
    return t.support_tickets.cast("float64") / tenure_years


# The extension point for features that are not raw columns. The sample's three are the worked
# example: a feature is used when schema.yaml's `derived` names it, reads only typed raw columns,
# and gets `data.as_of` (the config's fixed reference date, so runs repeat) when it needs a date.
DERIVED_FEATURES: dict[str, DerivedFeature] = {
    "tenure_days": DerivedFeature(("signup_date",), True, _tenure_days),
    "signup_month": DerivedFeature(("signup_date",), False, lambda t, _: t.signup_date.month()),
    "tickets_per_year": DerivedFeature(("signup_date", "support_tickets"), True, _tickets_per_year),
}


def check_derived(as_of: date | None) -> None:
    """Every derived feature schema.yaml names is defined here and can be computed."""
    contract = schema()
    names = {c.name for c in contract.raw_columns}
    for feature in contract.derived:
        definition = DERIVED_FEATURES.get(feature.name)
        if definition is None:
            raise UserError(
                f"{SCHEMA_FILE.name}: derived feature '{feature.name}' has no definition; "
                f"add it to DERIVED_FEATURES in {_THIS_FILE} or remove it"
            )
        for column in definition.reads:
            if column not in names:
                raise UserError(
                    f"derived feature '{feature.name}' reads column '{column}', which "
                    f"{SCHEMA_FILE.name} lacks; remove '{feature.name}' from its `derived` list "
                    f"or change DERIVED_FEATURES in {_THIS_FILE}"
                )
        if definition.needs_as_of and as_of is None:
            raise UserError(
                f"data.as_of: derived feature '{feature.name}' needs a reference date; "
                "add e.g. `as_of: 2024-01-01` under data in the config"
            )


def _label(typed: ibis.Table) -> ibis.Value:
    """The target as the model learns it: 1/0 for schema.yaml's `positive` class, else a number."""
    contract = schema()
    column = typed[contract.target]
    if contract.positive is None:
        return column.cast("float64")
    if contract.column(contract.target).dtype in ("int64", "float64"):
        # Compare numbers as numbers: a float target 1.0 is the positive class "1".
        return (column.cast("float64") == ibis.literal(contract.positive).try_cast("float64")).cast(
            "int64"
        )
    return (column.cast("string") == contract.positive).cast("int64")


def model_inputs(
    table: ibis.Table,
    as_of: date | None,
    columns: list[RawColumn] | None = None,
    keep: tuple[str, ...] = (),
) -> tuple[ibis.Table, dict[str, ibis.Value]]:
    """Raw columns (all, or `columns`) typed as schema.yaml says, and the model's features.

    The features are the schema's, in model order, each cast to its feature type; derived ones
    are computed from the typed columns with `as_of` as the reference date. The columns named in
    `keep` pass into the typed table unchanged.
    """
    contract = schema()
    check_derived(as_of)
    typed = table.select(
        **{c.name: _typed_value(table, c) for c in columns or contract.raw_columns},
        **{name: table[name] for name in keep},
    )
    reference = ibis.literal(as_of if as_of is not None else date(1970, 1, 1))
    derived = {f.name: DERIVED_FEATURES[f.name].compute(typed, reference) for f in contract.derived}
    values = {
        **{c.name: typed[c.name] for c in contract.features if c.name not in derived},
        **derived,
    }
    return typed, {c.name: values[c.name].cast(c.dtype) for c in contract.features}


def scoring_columns() -> list[RawColumn]:
    """The raw columns scoring reads: the id (if any), the raw features and what derived ones read.

    Not the target, and not columns kept out of the model (`feature: false`) that no derived
    feature reads: a table to score need not have them.
    """
    contract = schema()
    read = {name for f in contract.derived for name in DERIVED_FEATURES[f.name].reads}
    model = set(contract.feature_names()) | read | {contract.id_column}
    return [c for c in contract.raw_columns if c.name in model]


def derive_features(table: ibis.Table, as_of: date | None) -> ibis.Table:
    """Typed raw columns -> id (if any), model features and the label, in a repeatable order.

    With an id column rows are ordered by it; without one, by a hash of the whole row (then the
    row itself), which depends on the rows only, not on their order in the file.
    """
    contract = schema()
    typed, columns = model_inputs(table, as_of)
    label = {contract.target: _label(typed)}
    if contract.id_column is not None:
        identity = {contract.id_column: typed[contract.id_column]}
        order = {ORDER_KEYS[0]: typed[contract.id_column]}
    else:
        identity = {}
        whole_row = ibis.literal(UNIT_SEPARATOR).join(
            [typed[c.name].cast("string").fill_null(NULL_MARK) for c in contract.raw_columns]
        )
        order = {ORDER_KEYS[0]: whole_row.hash(), ORDER_KEYS[1]: whole_row}
    result = typed.select(**identity, **columns, **label, **order)
    return result.order_by(list(order)).drop(*order)


def build_features(config: DataConfig, con: BaseBackend | None = None) -> FeatureSet:
    """Read, validate and transform the raw data; write features and manifest to features_dir."""
    check_derived(config.as_of)
    con = con or data.connect(config.engine)
    with data.local_file(config.raw_path, config.engine) as path:
        raw = data.read_raw(con, path)
        validate_raw(raw, str(config.raw_path))
        features = derive_features(raw, config.as_of)
        if config.sample_rows is not None:
            features = features.limit(config.sample_rows)
        frame = features.to_pandas()
        source_sha256 = data.file_sha256(path)
    manifest = {
        "source": str(config.raw_path),
        "source_sha256": source_sha256,
        "as_of": None if config.as_of is None else config.as_of.isoformat(),
        "sample_rows": config.sample_rows,
        "rows": len(frame),
        "columns": {name: str(dtype) for name, dtype in frame.dtypes.items()},
        "fingerprint": data.fingerprint(frame),
    }
    path = config.features_dir / FEATURES_FILE
    data.write_parquet(frame, path)
    (config.features_dir / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n")
    return FeatureSet(frame=frame, path=path, manifest=manifest)


@dataclass(frozen=True)
class Split:
    """Training and test features and labels."""

    x_train: pd.DataFrame
    x_test: pd.DataFrame
    y_train: pd.Series
    y_test: pd.Series


def split(features: pd.DataFrame, config: ProjectConfig, columns: list[str] | None = None) -> Split:
    """Deterministic, stratified-if-classifying split of the config's features (or `columns`)."""
    from sklearn.model_selection import train_test_split

    target = features[schema().target]
    x_train, x_test, y_train, y_test = train_test_split(
        features[config.model.features() if columns is None else columns],
        target,
        test_size=config.split.test_size,
        random_state=config.split.seed,
        stratify=target if config.problem_type == "classification" else None,
    )
    return Split(x_train, x_test, y_train, y_test)
