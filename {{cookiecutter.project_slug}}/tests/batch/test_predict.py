"""Batch scoring on rows made from schema.yaml: chunked, same features as training, bad rows."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from {{ cookiecutter.package_name }}.batch.predict import PROVENANCE, score_file
from {{ cookiecutter.package_name }}.cli import app
from {{ cookiecutter.package_name }}.core.config import DataConfig
from {{ cookiecutter.package_name }}.core.errors import UserError
from {{ cookiecutter.package_name }}.core.schema import feature_names, schema
from {{ cookiecutter.package_name }}.features import build_features, scoring_columns
from {{ cookiecutter.package_name }}.io import registry
from {{ cookiecutter.package_name }}.io.exported_model import Bundle, read_bundle
from tests.helpers import broken_rows, project_config, raw_rows, rule_breaks, write_csv

AS_OF = project_config().data.as_of


@pytest.fixture(scope="module")
def bundle(model_dir: Path) -> Bundle:
    return read_bundle(model_dir)


def test_chunks_keep_the_input_order_and_match_training_features(
    bundle: Bundle, tmp_path: Path
) -> None:
    rows = raw_rows(300, seed=5)
    contract = schema()
    unscored = rows.drop(columns=[contract.target])  # a table to score has no target
    calls: list[tuple[int, int]] = []
    chunked = score_file(
        bundle,
        write_csv(unscored, tmp_path / "in.csv"),
        tmp_path / "out.parquet",
        AS_OF,
        64,
        lambda done, total: calls.append((done, total)),
    )
    assert chunked.rows == 300
    assert calls[-1] == (300, 300) and len(calls) == 5
    out = pd.read_parquet(tmp_path / "out.parquet")
    info, model = bundle
    assert list(out[list(PROVENANCE)].drop_duplicates().itertuples(index=False)) == [
        (info.name, info.version, info.run_id)
    ]
    rows.to_parquet(tmp_path / "in.parquet", index=False)
    score_file(bundle, tmp_path / "in.parquet", tmp_path / "whole.csv", AS_OF, 10_000)
    whole = pd.read_csv(tmp_path / "whole.csv", keep_default_na=False)
    np.testing.assert_allclose(whole["prediction"], out["prediction"])
    # The training pipeline's features, scored directly, give the same predictions.
    config = DataConfig(raw_path=tmp_path / "in.parquet", features_dir=tmp_path / "f", as_of=AS_OF)
    trained = build_features(config).frame
    if contract.id_column is not None:
        assert out[contract.id_column].tolist() == rows[contract.id_column].tolist()
        trained = trained.set_index(contract.id_column).loc[out[contract.id_column]]
        direct = model.predict(trained[feature_names()])
        np.testing.assert_allclose(out["prediction"].to_numpy(dtype=float), direct.astype(float))


def test_a_bad_row_is_one_line_naming_row_column_and_rule(bundle: Bundle, tmp_path: Path) -> None:
    read = {c.name for c in scoring_columns()}
    # One break of each kind of rule a single value can break (uniqueness is the table's rule).
    kinds = {b.rule: b for b in reversed(rule_breaks()) if b.column in read and b.rule != "unique"}
    assert kinds
    for broken in kinds.values():
        source = write_csv(broken_rows(broken, rows=12), tmp_path / f"{broken}.csv")
        output = tmp_path / f"{broken}.parquet"
        with pytest.raises(UserError) as error:
            score_file(bundle, source, output, AS_OF, chunk_rows=2)  # row 4: the second chunk
        rule = broken.message.split("1 value(s) ", 1)[1]
        assert f"row 4, column '{broken.column}': {rule};" in str(error.value), broken
        assert "\n" not in str(error.value)
        assert not output.exists() and list(tmp_path.glob(f".{output.name}*")) == []


def test_unknown_alias_and_output_format_are_one_line_errors(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(registry, "alias_version", lambda name, alias: None)  # no such alias
    source = write_csv(raw_rows(20), workdir / "in.csv")
    runner = CliRunner()
    for model, output, expected in [
        ("models:/no-such-model@champion", "out.parquet", "set the alias with `promote`"),
        ("models:/no-such-model/1", "out.json", "end the name in .parquet or .csv"),
    ]:
        result = runner.invoke(
            app, ["predict", "--model", model, "--input", str(source), "--output", output]
        )
        assert result.exit_code == 2, result.output
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0]
