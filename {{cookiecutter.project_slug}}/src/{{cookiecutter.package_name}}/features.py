"""Feature pipeline: raw table -> validated -> features -> Parquet + manifest.

Written as Ibis expressions, so the same code runs on the embedded DuckDB or on Spark.
"""

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import ibis
import pandas as pd
from ibis.backends import BaseBackend

from .core.config import DataConfig, ProjectConfig
from .core.errors import UserError
from .core.schema import FEATURE_COLUMNS, ID_COLUMN, RAW_COLUMNS, TARGETS, RawColumn
from .io import data

FEATURES_FILE = "features.parquet"
MANIFEST_FILE = "manifest.json"


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


def _checks(table: ibis.Table, column: RawColumn) -> dict[str, tuple[str, ibis.Expr]]:
    """Violation counters for one column: rule text and a count of the rows that break it."""
    raw = table[column.name]
    value = raw.cast("string") if column.dtype == "string" else raw.try_cast(column.dtype)
    checks: dict[str, tuple[str, ibis.Expr]] = {
        "type": (f"not a valid {column.dtype}", (raw.notnull() & value.isnull()).sum()),
    }
    if not column.nullable:
        checks["null"] = ("missing (the column is required)", raw.isnull().sum())
    if column.allowed is not None:
        checks["allowed"] = (
            f"not one of {', '.join(column.allowed)}",
            (value.notnull() & ~value.isin(column.allowed)).sum(),
        )
    if column.minimum is not None:
        checks["minimum"] = (f"below the minimum {column.minimum}", (value < column.minimum).sum())
    if column.maximum is not None:
        checks["maximum"] = (f"above the maximum {column.maximum}", (value > column.maximum).sum())
    if column.unique:
        checks["unique"] = ("duplicated", value.count() - value.nunique())
    return checks


def validate_raw(table: ibis.Table, source: str) -> None:
    """Check the raw table against schema.py in one query; raise UserError naming broken rules."""
    missing = [c.name for c in RAW_COLUMNS if c.name not in table.columns]
    if missing:
        raise UserError(
            f"{source}: missing column(s) {', '.join(missing)} required by schema.py; "
            "add them to the data or change RAW_COLUMNS"
        )
    rules: dict[str, tuple[str, str]] = {}
    counters: dict[str, ibis.Expr] = {}
    for column in RAW_COLUMNS:
        for rule, (text, counter) in _checks(table, column).items():
            key = f"{column.name}__{rule}"
            rules[key] = (column.name, text)
            counters[key] = counter.fill_null(0)
    counts = table.aggregate(**counters).to_pyarrow().to_pylist()[0]
    problems = [
        f"column '{rules[key][0]}': {count} value(s) {rules[key][1]}"
        for key, count in counts.items()
        if count
    ]
    if problems:
        raise UserError(f"{source}: {'; '.join(problems)}; fix the data or the rule in schema.py")


def derive_features(table: ibis.Table, as_of: date) -> ibis.Table:
    """Typed raw columns -> model features and targets, ordered by id for repeatable output."""
    typed = table.mutate(
        **{
            c.name: table[c.name].cast("string")
            if c.dtype == "string"
            else table[c.name].try_cast(c.dtype)
            for c in RAW_COLUMNS
        }
    )
    tenure_days = ibis.literal(as_of).delta(typed.signup_date, unit="day")
    tenure_years = ibis.greatest(tenure_days / 365.25, 1 / 12)
    derived = typed.mutate(
        tenure_days=tenure_days,
        signup_month=typed.signup_date.month(),
        tickets_per_year=typed.support_tickets / tenure_years,
    )
    columns = {c.name: derived[c.name].cast(c.dtype) for c in FEATURE_COLUMNS}
    targets = {name: derived[name] for name in TARGETS.values()}
    return derived.select(derived[ID_COLUMN], **columns, **targets).order_by(ID_COLUMN)


def build_features(config: DataConfig, con: BaseBackend | None = None) -> FeatureSet:
    """Read, validate and transform the raw data; write features and manifest to features_dir."""
    con = con or data.connect()
    raw = data.read_raw(con, config.raw_path)
    validate_raw(raw, str(config.raw_path))
    features = derive_features(raw, config.as_of)
    if config.sample_rows is not None:
        features = features.limit(config.sample_rows)
    frame = features.to_pandas()
    manifest = {
        "source": str(config.raw_path),
        "source_sha256": data.file_sha256(config.raw_path),
        "as_of": config.as_of.isoformat(),
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

    target = features[TARGETS[config.problem_type]]
    x_train, x_test, y_train, y_test = train_test_split(
        features[config.model.features() if columns is None else columns],
        target,
        test_size=config.split.test_size,
        random_state=config.split.seed,
        stratify=target if config.problem_type == "classification" else None,
    )
    return Split(x_train, x_test, y_train, y_test)
