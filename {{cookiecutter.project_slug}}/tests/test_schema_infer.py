"""`schema infer` on tables the project was not made for: what it writes, and what it refuses."""

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from {{ cookiecutter.package_name }}.cli import app
from {{ cookiecutter.package_name }}.core import schema as schema_module
from {{ cookiecutter.package_name }}.core.config import DataConfig, read_problem_type
from {{ cookiecutter.package_name }}.core.errors import UserError
from {{ cookiecutter.package_name }}.core.schema import load_schema, parse_schema
from {{ cookiecutter.package_name }}.features import build_features, check_derived
from tests.helpers import PROJECT, assert_one_line_error

PROBLEM_TYPE = read_problem_type(PROJECT / "configs" / "v1.yaml")
TARGET = "Outcome (next year)"
runner = CliRunner()


def _table(rows: int = 400, seed: int = 3) -> pd.DataFrame:
    """Awkward names, numbers and categories with gaps, no id; the config's kind of target."""
    rng = np.random.default_rng(seed)
    spend = rng.gamma(2.0, 30.0, rows).round(2)
    frame = pd.DataFrame(
        {
            "Monthly Spend (€)": spend,
            "région": rng.choice(np.array(["nørd", "süd", "O'st", None], dtype=object), rows),
            "select": pd.array(rng.integers(0, 50, rows), dtype="Int64"),
            "plan.type": rng.choice(["a", "b"], rows),
            'say "hi"': rng.normal(0.0, 1.0, rows).round(3),
        }
    )
    frame.loc[frame.index % 10 == 0, "select"] = pd.NA
    signal = spend / 30.0 + rng.normal(0.0, 1.0, rows)
    if PROBLEM_TYPE == "classification":
        frame[TARGET] = np.where(signal > np.median(signal), "yes", "no")
    else:
        frame[TARGET] = (100.0 + 10.0 * signal).round(2)
    return frame


def _infer(path: Path, out: Path, *options: str) -> tuple[int, str, str]:
    result = runner.invoke(
        app,
        ["schema", "infer", str(path), "--target", TARGET, "--out", str(out), *options],
    )
    return result.exit_code, result.stdout, result.stderr


def _csv(tmp_path: Path, frame: pd.DataFrame, name: str = "table.csv") -> Path:
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


def test_writes_a_contract_that_accepts_its_own_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    frame = _table()
    path = _csv(tmp_path, frame)
    out = tmp_path / "schema.yaml"
    code, stdout, stderr = _infer(path, out)
    assert code == 0, stdout + stderr
    assert f"wrote {out}: 400 rows, 5 features, {PROBLEM_TYPE} of '{TARGET}'" in stdout

    written = parse_schema(yaml.safe_load(out.read_text(encoding="utf-8")), out)
    assert written.target == TARGET and written.id_column is None and not written.derived
    assert written.feature_names() == [c for c in frame.columns if c != TARGET]
    assert written.feature_names("categorical") == ["région", "plan.type"]
    assert written.column("région").allowed == ("O'st", "nørd", "süd")
    assert written.column("région").nullable and not written.column("plan.type").nullable
    assert written.column("select").dtype == "int64" and written.column("select").nullable
    if PROBLEM_TYPE == "classification":
        assert written.positive == "yes"
    else:
        assert written.positive is None

    # The contract is what the pipeline reads: features built from the same table pass it.
    monkeypatch.setattr(schema_module, "SCHEMA_FILE", out)
    features = build_features(DataConfig(raw_path=path, features_dir=tmp_path / "features"))
    assert len(features.frame) == 400
    assert list(features.frame.columns) == [*written.feature_names(), TARGET]


def test_ranges_are_widened_by_a_tenth_of_the_span_and_never_below_zero(tmp_path: Path) -> None:
    frame = _table(rows=50)
    frame["count"] = np.arange(50) % 11  # 0..10: a column that was never negative
    frame["score"] = np.linspace(10.0, 20.0, 50)
    frame["when"] = pd.date_range("2024-01-01", periods=50, freq="D").date
    out = tmp_path / "schema.yaml"
    assert _infer(_csv(tmp_path, frame), out)[0] == 0
    columns = yaml.safe_load(out.read_text(encoding="utf-8"))["columns"]
    assert columns["count"] == {"type": "int64", "min": 0, "max": 11}
    assert columns["score"] == {"type": "float64", "min": 9.0, "max": 21.0}
    # A date is not a feature as it is; it gets a lower bound only (dates grow).
    assert columns["when"] == {"type": "date", "min": date(2023, 12, 27), "feature": False}


def test_an_id_column_is_unique_and_unique_columns_are_suggested(tmp_path: Path) -> None:
    frame = _table(rows=60)
    frame.insert(0, "Kunden-Nr.", [f"K{i:03d}" for i in range(60)])
    frame["ticket"] = np.arange(60) * 7
    path = _csv(tmp_path, frame)
    code, stdout, _ = _infer(path, tmp_path / "plain.yaml")
    assert code == 0
    assert "note: column 'Kunden-Nr.' has a distinct value per row" in stdout
    assert "note: column 'ticket' has a distinct value per row" in stdout

    out = tmp_path / "keyed.yaml"
    assert _infer(path, out, "--id", "Kunden-Nr.")[0] == 0
    written = load_schema(out)
    assert written.id_column == "Kunden-Nr."
    assert written.column("Kunden-Nr.").unique
    assert "Kunden-Nr." not in written.feature_names()


def test_parquet_reads_like_csv(tmp_path: Path) -> None:
    frame = _table(rows=80)
    csv_out, parquet_out = tmp_path / "from-csv.yaml", tmp_path / "from-parquet.yaml"
    assert _infer(_csv(tmp_path, frame), csv_out)[0] == 0
    frame.to_parquet(tmp_path / "table.parquet", index=False)
    assert _infer(tmp_path / "table.parquet", parquet_out)[0] == 0
    body = [line for line in csv_out.read_text().splitlines() if not line.startswith("#")]
    assert body == [
        line for line in parquet_out.read_text().splitlines() if not line.startswith("#")
    ]


def test_a_second_run_shows_the_change_and_keeps_edits_until_overwrite(tmp_path: Path) -> None:
    path = _csv(tmp_path, _table())
    out = tmp_path / "schema.yaml"
    assert _infer(path, out)[0] == 0
    code, stdout, _ = _infer(path, out)
    assert code == 0 and "nothing to change" in stdout

    edited = out.read_text(encoding="utf-8").replace(
        "plan.type: {type: string", "plan.type: {type: string, feature: false"
    )
    out.write_text(edited, encoding="utf-8")
    code, stdout, _ = _infer(path, out)
    assert code == 1
    assert "-  plan.type: {type: string, feature: false" in stdout
    assert "rerun with --overwrite" in stdout
    assert out.read_text(encoding="utf-8") == edited, "nothing is written without --overwrite"

    code, stdout, _ = _infer(path, out, "--overwrite")
    assert code == 0 and "wrote" in stdout
    assert (
        "feature: false"
        not in out.read_text(encoding="utf-8").split("plan.type", 1)[1].split("\n")[0]
    )


def _break(frame: pd.DataFrame, problem: str, tmp_path: Path) -> tuple[Path, list[str], str]:
    """A table broken in one way, the extra options, and a fragment of the expected error."""
    if problem == "target not a column":
        return (
            _csv(tmp_path, frame.drop(columns=TARGET)),
            [],
            f"--target '{TARGET}' is not a column",
        )
    if problem == "one-valued target":
        frame[TARGET] = frame[TARGET].iloc[0]
        return _csv(tmp_path, frame), [], "has one value only"
    if problem == "id with duplicates":
        frame["key"] = [f"k{i % 50}" for i in range(len(frame))]
        return _csv(tmp_path, frame), ["--id", "key"], "id column 'key' has 350 duplicated"
    if problem == "empty file":
        return _csv(tmp_path, frame.head(0)), [], "the table has no rows"
    if problem == "all values missing":
        frame["notes"] = None
        return _csv(tmp_path, frame), [], "column 'notes' has no value in any row"
    if problem == "target of the other problem type":
        if PROBLEM_TYPE == "classification":
            frame[TARGET] = np.linspace(0.0, 1.0, len(frame))
        else:
            frame[TARGET] = np.arange(len(frame)) % 2
        return _csv(tmp_path, frame), [], f"but the config says problem_type: {PROBLEM_TYPE}"
    if problem == "unsupported file":
        path = tmp_path / "table.xlsx"
        path.write_bytes(b"PK")
        return path, [], "unsupported format '.xlsx'"
    raise AssertionError(problem)


@pytest.mark.parametrize(
    "problem",
    [
        "target not a column",
        "one-valued target",
        "id with duplicates",
        "empty file",
        "all values missing",
        "target of the other problem type",
        "unsupported file",
    ],
)
def test_bad_tables_fail_in_one_line_and_write_nothing(tmp_path: Path, problem: str) -> None:
    path, options, expected = _break(_table(), problem, tmp_path)
    out = tmp_path / "schema.yaml"
    code, _, stderr = _infer(path, out, *options)
    assert code == 2
    assert_one_line_error(stderr, expected)
    assert not out.exists()


def test_text_in_row_90000_of_a_number_column_is_named(tmp_path: Path) -> None:
    rows = 90_000
    frame = pd.DataFrame(
        {
            "amount": np.arange(rows, dtype=float).astype(str),
            TARGET: np.where(np.arange(rows) % 2 == 0, "yes", "no")
            if PROBLEM_TYPE == "classification"
            else np.arange(rows) * 0.5,
        }
    )
    frame.loc[rows - 1, "amount"] = "n/a"
    code, _, stderr = _infer(_csv(tmp_path, frame), tmp_path / "schema.yaml")
    assert code == 2
    assert_one_line_error(stderr, "column 'amount' holds numbers but 1 value(s) are text", "'n/a'")


def test_a_derived_feature_needing_a_missing_column_names_it_and_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "schema.yaml"
    assert _infer(_csv(tmp_path, _table(rows=40)), out)[0] == 0
    out.write_text(out.read_text().replace("derived: {}", "derived: {tenure_days: numeric}"))
    monkeypatch.setattr(schema_module, "SCHEMA_FILE", out)
    with pytest.raises(UserError) as error:
        check_derived(date(2024, 1, 1))
    message = str(error.value)
    assert "derived feature 'tenure_days' reads column 'signup_date'" in message
    assert "features.py" in message and "\n" not in message


def test_a_hand_written_date_feature_is_refused_in_one_line(tmp_path: Path) -> None:
    contract = {
        "target": "y",
        "columns": {"when": {"type": "date"}, "x": {"type": "float64"}, "y": {"type": "float64"}},
    }
    with pytest.raises(UserError) as error:
        parse_schema(contract, tmp_path / "schema.yaml")
    assert "columns.when: a date is not a model input; set feature: false" in str(error.value)


def test_labels_of_a_numeric_classifier_are_numbers_in_its_range(tmp_path: Path) -> None:
    from {{ cookiecutter.package_name }}.monitoring.log_reader import read_labels

    contract = parse_schema(
        {
            "target": "flag",
            "positive": 1,
            "columns": {"x": {"type": "float64"}, "flag": {"type": "float64", "min": 0, "max": 1}},
        },
        tmp_path / "schema.yaml",
    )
    good = tmp_path / "good.csv"
    pd.DataFrame({"request_id": ["a", "b"], "flag": ["1.0", "0"]}).to_csv(good, index=False)
    assert read_labels(good, contract)["label"].tolist() == [1.0, 0.0]
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"request_id": ["a", "b"], "flag": ["yes", "2"]}).to_csv(bad, index=False)
    with pytest.raises(
        UserError, match="2 row\\(s\\) with a label that is not a number from 0 to 1"
    ):
        read_labels(bad, contract)
