import json
import re
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.core.config import DataConfig
from {{ cookiecutter.package_name }}.core.errors import UserError
from {{ cookiecutter.package_name }}.core.schema import RAW_COLUMNS, TARGETS, feature_names
from {{ cookiecutter.package_name }}.features import MANIFEST_FILE, build_features
from tests.helpers import PROJECT

SAMPLE = PROJECT / "data" / "sample" / "customers.csv"


def _config(raw: Path, out: Path, rows: int | None = None) -> DataConfig:
    return DataConfig(raw_path=raw, features_dir=out, as_of=date(2024, 1, 1), sample_rows=rows)


def _write_raw(tmp_path: Path, edit: dict[str, str] | None = None, drop: str = "") -> Path:
    frame = pd.read_csv(SAMPLE, dtype=str, keep_default_na=False).head(50)
    for column, value in (edit or {}).items():
        frame.loc[3, column] = value
    if drop:
        frame = frame.drop(columns=[drop])
    path = tmp_path / "raw.csv"
    frame.to_csv(path, index=False)
    return path


def test_sample_data_has_what_the_template_promises() -> None:
    frame = pd.read_csv(SAMPLE)
    assert len(frame) >= 2000
    assert SAMPLE.stat().st_size < 1_000_000
    assert list(frame.columns) == [column.name for column in RAW_COLUMNS]
    assert frame[["region", "age", "last_login_days"]].isna().any().all()


def test_features_manifest_and_stable_fingerprint(tmp_path: Path) -> None:
    first = build_features(_config(SAMPLE, tmp_path / "a"))
    second = build_features(_config(SAMPLE, tmp_path / "b"))
    assert first.fingerprint == second.fingerprint
    manifest = json.loads((tmp_path / "a" / MANIFEST_FILE).read_text())
    assert manifest["rows"] == len(first.frame) == len(pd.read_csv(SAMPLE))
    assert manifest["fingerprint"] == first.fingerprint
    assert set(manifest["columns"]) == {"customer_id", *feature_names(), *TARGETS.values()}
    assert pd.read_parquet(first.path).equals(first.frame)
    assert first.frame["customer_id"].is_monotonic_increasing


def test_sample_rows_and_derived_columns(tmp_path: Path) -> None:
    features = build_features(_config(SAMPLE, tmp_path, rows=100)).frame
    assert len(features) == 100
    assert (features["tenure_days"] > 0).all()
    assert features["signup_month"].between(1, 12).all()
    assert features["region"].isna().any(), (
        "missing categories stay missing for the model to impute"
    )


def test_targets_are_never_features() -> None:
    assert not set(TARGETS.values()) & set(feature_names())


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        ({"age": "12"}, "column 'age': 1 value(s) below the minimum 18"),
        ({"plan": "gold"}, "column 'plan': 1 value(s) not one of basic, standard, premium"),
        ({"signup_date": "not-a-date"}, "column 'signup_date': 1 value(s) not a valid date"),
        ({"monthly_spend": ""}, "column 'monthly_spend': 1 value(s) missing"),
        ({"customer_id": "C00001"}, "column 'customer_id': 1 value(s) duplicated"),
    ],
)
def test_invalid_values_name_column_and_rule(
    tmp_path: Path, edit: dict[str, str], expected: str
) -> None:
    with pytest.raises(UserError, match=re.escape(expected)):
        build_features(_config(_write_raw(tmp_path, edit), tmp_path / "out"))
    assert not (tmp_path / "out").exists(), "nothing is written for invalid data"


def test_missing_column_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"missing column\(s\) plan required by schema\.py"):
        build_features(_config(_write_raw(tmp_path, drop="plan"), tmp_path / "out"))
    with pytest.raises(UserError, match=r"raw data file .* not found"):
        build_features(_config(tmp_path / "absent.csv", tmp_path / "out"))
