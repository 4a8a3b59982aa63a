"""Features and batch scoring on Spark give what DuckDB gives: rows, types, fingerprint, errors."""

from pathlib import Path

import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.batch import on_spark, predict
from {{ cookiecutter.package_name }}.core.config import DataConfig
from {{ cookiecutter.package_name }}.core.errors import UserError
from {{ cookiecutter.package_name }}.features import build_features, scoring_columns
from {{ cookiecutter.package_name }}.io import spark
from {{ cookiecutter.package_name }}.io.exported_model import read_bundle
from tests.helpers import broken_rows, project_config, raw_rows, rule_breaks, write_csv

pytestmark = pytest.mark.spark
AS_OF = project_config().data.as_of


def _both(raw: Path, out: Path, rows: int | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The feature table of `raw` from DuckDB and from Spark; their fingerprints must match."""
    config = DataConfig(raw_path=raw, features_dir=out / "duckdb", as_of=AS_OF, sample_rows=rows)
    local = build_features(config)
    on_spark = build_features(
        config.model_copy(update={"engine": "spark", "features_dir": out / "spark"})
    )
    assert on_spark.fingerprint == local.fingerprint
    assert on_spark.manifest["columns"] == local.manifest["columns"]
    return local.frame, on_spark.frame


def test_the_session_is_local_on_loopback_without_ui() -> None:
    conf = spark.session().sparkContext.getConf()
    assert conf.get("spark.master") == spark.MASTER
    assert conf.get("spark.driver.host") == conf.get("spark.driver.bindAddress") == "127.0.0.1"
    assert conf.get("spark.ui.enabled") == "false"


def test_features_equal_duckdb_s_on_csv_parquet_and_the_shipped_config(tmp_path: Path) -> None:
    rows = raw_rows(200, seed=7)
    local, remote = _both(write_csv(rows, tmp_path / "raw.csv"), tmp_path / "csv")
    pd.testing.assert_frame_equal(remote, local, check_exact=True)
    rows.to_parquet(tmp_path / "raw.parquet", index=False)
    local, remote = _both(tmp_path / "raw.parquet", tmp_path / "parquet", rows=50)
    pd.testing.assert_frame_equal(remote, local, check_exact=True)
    shipped = project_config().data
    _both(Path(shipped.raw_path), tmp_path / "shipped")


def test_validation_errors_name_the_same_column_rule_and_count(tmp_path: Path) -> None:
    kinds = {b.rule: b for b in reversed(rule_breaks())}
    for broken in kinds.values():
        raw = write_csv(broken_rows(broken), tmp_path / f"{broken}.csv")
        config = DataConfig(raw_path=raw, features_dir=tmp_path / "f", as_of=AS_OF)
        messages = []
        for engine in ("duckdb", "spark"):
            with pytest.raises(UserError) as error:
                build_features(config.model_copy(update={"engine": engine}))
            messages.append(str(error.value))
        assert messages[0] == messages[1], broken
        assert broken.message in messages[1]


def test_batch_scoring_on_spark_writes_what_local_scoring_writes(
    model_dir: Path, tmp_path: Path
) -> None:
    bundle = read_bundle(model_dir)
    source = Path(project_config().data.raw_path)  # a local file (helpers.project_config)
    for name in ("out.parquet", "out.csv"):
        local = predict.score_file(bundle, source, tmp_path / "local" / name, AS_OF, 500)
        remote = on_spark.score_file(bundle, source, tmp_path / "spark" / name, AS_OF)
        assert remote.rows == local.rows
        written, expected = tmp_path / "spark" / name, tmp_path / "local" / name
        if name.endswith(".csv"):
            assert written.read_text() == expected.read_text()
        else:
            pd.testing.assert_frame_equal(pd.read_parquet(written), pd.read_parquet(expected))
    read = {c.name for c in scoring_columns()}
    broken = next(b for b in rule_breaks() if b.column in read and b.rule != "unique")
    bad = write_csv(broken_rows(broken, rows=30), tmp_path / "bad.csv")
    messages = []
    for score in (predict.score_file, on_spark.score_file):
        with pytest.raises(UserError) as error:
            score(bundle, bad, tmp_path / "bad.parquet", AS_OF)
        messages.append(str(error.value))
    assert messages[0] == messages[1] and "row 4, column" in messages[0]
    assert not (tmp_path / "bad.parquet").exists()
