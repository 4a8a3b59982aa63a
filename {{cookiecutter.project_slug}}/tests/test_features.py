"""The feature pipeline on rows made from schema.yaml's rules: valid ones, and each rule broken."""

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.core.config import DataConfig
from {{ cookiecutter.package_name }}.core.errors import UserError
from {{ cookiecutter.package_name }}.core.schema import SCHEMA_FILE, schema
from {{ cookiecutter.package_name }}.features import MANIFEST_FILE, build_features
from tests.helpers import RuleBreak, broken_rows, project_config, raw_rows, rule_breaks, write_csv

AS_OF = project_config().data.as_of


def _config(raw: Path, out: Path, rows: int | None = None) -> DataConfig:
    return DataConfig(raw_path=raw, features_dir=out, as_of=AS_OF, sample_rows=rows)


def _raw(tmp_path: Path, rows: int = 200, seed: int = 0, name: str = "raw.csv") -> Path:
    return write_csv(raw_rows(rows, seed), tmp_path / name)


def test_features_manifest_and_stable_fingerprint(tmp_path: Path) -> None:
    raw = _raw(tmp_path)
    first = build_features(_config(raw, tmp_path / "a"))
    second = build_features(_config(raw, tmp_path / "b"))
    assert first.fingerprint == second.fingerprint
    manifest = json.loads((tmp_path / "a" / MANIFEST_FILE).read_text())
    assert manifest["rows"] == len(first.frame) == 200
    assert manifest["fingerprint"] == first.fingerprint
    contract = schema()
    identity = [] if contract.id_column is None else [contract.id_column]
    assert list(manifest["columns"]) == [*identity, *contract.feature_names(), contract.target]
    assert pd.read_parquet(first.path).equals(first.frame)
    if contract.id_column is not None:
        assert first.frame[contract.id_column].is_unique


def test_the_order_of_the_rows_in_the_file_does_not_matter(tmp_path: Path) -> None:
    rows = raw_rows(200, seed=1)
    shuffled = rows.sample(frac=1.0, random_state=3)
    first = build_features(_config(write_csv(rows, tmp_path / "a.csv"), tmp_path / "a"))
    second = build_features(_config(write_csv(shuffled, tmp_path / "b.csv"), tmp_path / "b"))
    assert first.fingerprint == second.fingerprint
    limited = build_features(_config(tmp_path / "b.csv", tmp_path / "c", rows=50)).frame
    pd.testing.assert_frame_equal(limited, first.frame.head(50))


def test_feature_types_missing_values_and_label(tmp_path: Path) -> None:
    rows = raw_rows(300, seed=2)
    features = build_features(_config(write_csv(rows, tmp_path / "raw.csv"), tmp_path)).frame
    contract = schema()
    for column in contract.features:
        if column.kind == "numeric":
            assert features[column.name].dtype == "float64", column.name
        else:
            assert features[column.name].dropna().map(lambda v: isinstance(v, str)).all()
    for raw in contract.raw_columns:
        if raw.name in contract.feature_names() and raw.nullable:
            assert features[raw.name].isna().any(), (
                f"{raw.name}: missing values stay missing for the model to impute"
            )
    label = features[contract.target]
    if contract.positive is None:
        expected = sorted(rows[contract.target].astype(float))
        assert sorted(label.astype(float)) == pytest.approx(expected)
    else:
        assert set(label) == {0, 1}
        positives = (rows[contract.target].astype(str) == contract.positive).sum()
        assert label.sum() == positives


def test_target_and_id_are_never_features() -> None:
    contract = schema()
    assert contract.target not in contract.feature_names()
    assert contract.id_column is None or contract.id_column not in contract.feature_names()


@pytest.mark.parametrize("broken", rule_breaks(), ids=str)
def test_a_broken_rule_names_its_column_and_rule(tmp_path: Path, broken: RuleBreak) -> None:
    raw = write_csv(broken_rows(broken), tmp_path / "raw.csv")
    with pytest.raises(UserError, match=re.escape(broken.message)) as caught:
        build_features(_config(raw, tmp_path / "out"))
    assert str(caught.value).count("value(s)") == 1, "that rule alone is broken"
    assert "\n" not in str(caught.value)
    assert not (tmp_path / "out").exists(), "nothing is written for invalid data"


def test_parquet_input_gives_the_csv_s_features(tmp_path: Path) -> None:
    rows = raw_rows(100, seed=4)
    from_csv = build_features(_config(write_csv(rows, tmp_path / "raw.csv"), tmp_path / "a"))
    rows.to_parquet(tmp_path / "raw.parquet")  # typed columns, as Parquet keeps them
    from_parquet = build_features(_config(tmp_path / "raw.parquet", tmp_path / "b"))
    assert from_parquet.fingerprint == from_csv.fingerprint


def test_missing_column_and_missing_file(tmp_path: Path) -> None:
    first = schema().raw_columns[0].name
    raw = write_csv(raw_rows(20).drop(columns=[first]), tmp_path / "raw.csv")
    expected = f"missing column(s) {first} required by {SCHEMA_FILE.name}"
    with pytest.raises(UserError, match=re.escape(expected)):
        build_features(_config(raw, tmp_path / "out"))
    with pytest.raises(UserError, match=r"raw data file .* not found"):
        build_features(_config(tmp_path / "absent.csv", tmp_path / "out"))
