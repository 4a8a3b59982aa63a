import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from {{ cookiecutter.package_name }}.core.errors import UserError
from {{ cookiecutter.package_name }}.core.schema import Schema, feature_names, parse_schema, schema
from {{ cookiecutter.package_name }}.io.prediction_log import LoggedRequest, PredictionLogWriter
from {{ cookiecutter.package_name }}.monitoring import log_reader
from {{ cookiecutter.package_name }}.monitoring.log_reader import LogWindow, read_labels, read_log
from tests.helpers import feature_records, raw_target, read_prediction_log
from tests.monitoring import accepted

START = datetime(2026, 1, 1, tzinfo=UTC)
RECORDS = feature_records(50, seed=5)


def request(i: int, version: str = "1", rows: int = 1) -> LoggedRequest:
    return LoggedRequest(
        request_id=f"req-{i}",
        timestamp=START + timedelta(minutes=i),
        model_name="m",
        model_version=version,
        run_id="run",
        latency_ms=2.0,
        features=[RECORDS[(i + row) % len(RECORDS)] for row in range(rows)],
        predictions=[i % 2] * rows,
        probabilities=[0.5] * rows,
    )


def write(folder: Path, items: list[LoggedRequest], max_bytes: int = 10_000_000) -> None:
    writer = PredictionLogWriter(folder, max_bytes=max_bytes)
    writer.start()
    for item in items:
        writer.write(item)
    writer.close()


def window(folder: Path, **changes: object) -> LogWindow:
    options: dict[str, object] = {
        "start": START,
        "end": START + timedelta(days=30),
        "sample_above": 100_000,
        "sample_rows": 100_000,
        "seed": 42,
    }
    version = str(changes.pop("model_version", "1"))
    read = read_log(folder, **{**options, **changes})  # type: ignore[arg-type]
    return read.window("m", version)


MALFORMED = [
    "not json",
    '{"request_id": "cut sh',
    "",
    "[1, 2]",
    json.dumps({"request_id": "no-run-id", "row": 0}),
]


def test_columnar_reader_agrees_with_the_prediction_log_reader(tmp_path: Path) -> None:
    items = [request(i, version="2" if i % 7 == 0 else "1", rows=1 + i % 3) for i in range(60)]
    write(tmp_path, items, max_bytes=3_000)
    first = sorted(tmp_path.glob("predictions-*.jsonl"))[0]
    lines = first.read_text().splitlines()
    broken = {
        **json.loads(lines[0]),
        "row": True,  # a boolean is not a row number
    }
    naive = {**json.loads(lines[0]), "timestamp": "2026-01-01T00:00:00"}
    extra = [*MALFORMED, json.dumps(broken), json.dumps(naive)]
    first.write_text("\n".join([*lines[:2], *extra, *lines[2:]]) + "\n")

    start, end = START + timedelta(minutes=5), START + timedelta(minutes=50)
    expected, malformed = read_prediction_log(
        tmp_path, start=start, end=end, model_name="m", model_version="1"
    )
    found = window(tmp_path, start=start, end=end)
    assert found.malformed == malformed == len(extra)
    assert found.rows == len(expected)
    assert not found.sampled
    columns = ["request_id", "row", "timestamp", "prediction", "probability", *feature_names()]
    pd.testing.assert_frame_equal(
        found.frame[columns].reset_index(drop=True),
        expected[columns].astype(found.frame[columns].dtypes.to_dict()).reset_index(drop=True),
        check_dtype=False,
    )
    everything, _ = read_prediction_log(tmp_path, start=start, end=end)
    other = everything[everything["model_version"] == "2"]
    assert found.other_versions == {"m/2": len(other)}


def test_sample_is_seeded_exact_and_independent_of_files(tmp_path: Path) -> None:
    items = [request(i, rows=3) for i in range(400)]
    write(tmp_path / "one-file", items)
    write(tmp_path / "many-files", items, max_bytes=2_000)
    assert len(list((tmp_path / "many-files").glob("*.jsonl"))) > 10
    sample = {"sample_above": 1000, "sample_rows": 500}
    first = window(tmp_path / "one-file", **sample)
    assert (first.rows, len(first.frame), first.sampled) == (1200, 500, True)
    again = window(tmp_path / "many-files", **sample)
    pd.testing.assert_frame_equal(first.frame, again.frame)
    other_seed = window(tmp_path / "one-file", **sample, seed=7)
    assert set(other_seed.frame["request_id"]) != set(first.frame["request_id"])
    below = window(tmp_path / "one-file", sample_above=1200, sample_rows=500)
    assert (len(below.frame), below.sampled) == (1200, False)


def test_window_and_version_filters(tmp_path: Path) -> None:
    write(tmp_path, [request(i, version=str(1 + i % 2)) for i in range(10)])
    found = window(tmp_path, end=START + timedelta(minutes=4))
    assert list(found.frame["request_id"]) == ["req-0", "req-2"]
    assert found.other_versions == {"m/2": 2}
    assert window(tmp_path, model_version="3").rows == 0


def test_empty_and_missing_folders(tmp_path: Path) -> None:
    empty = window(tmp_path)
    assert (empty.rows, empty.malformed, empty.frame.empty) == (0, 0, True)
    with pytest.raises(UserError, match=r"prediction log folder .* not found"):
        window(tmp_path / "missing")


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(batch=st.lists(accepted.records(accepted.published()), min_size=1, max_size=4))
def test_every_record_the_service_accepts_is_read_back_as_sent(
    tmp_path_factory: pytest.TempPathFactory, batch: list[dict[str, Any]]
) -> None:
    folder = tmp_path_factory.mktemp("accepted")
    rows = len(batch)
    item = request(0, rows=rows)
    write(folder, [LoggedRequest(**{**vars(item), "features": batch})])
    found = window(folder)
    assert (found.rows, found.malformed) == (rows, 0)
    names = feature_names()
    expected = pd.DataFrame(batch, columns=names).astype(found.frame[names].dtypes.to_dict())
    pd.testing.assert_frame_equal(found.frame[names], expected, check_dtype=False)


def long_request(i: int, characters: int) -> LoggedRequest:
    """A request whose record holds a text of `characters` emoji (4 bytes each when logged)."""
    item = request(i)
    name = next(iter(feature_names("categorical")), feature_names()[0])
    return LoggedRequest(
        **{**vars(item), "features": [{**RECORDS[0], name: "\U0001f600" * characters}]}
    )


def test_long_lines_are_read_like_any_other(tmp_path: Path) -> None:
    # Over DuckDB's CSV line limit (2 MB, the line), then over its JSON reader's default
    # object size (16 MiB): an older service, or a larger MAX_BODY_BYTES, could write them.
    write(tmp_path, [request(0), long_request(1, 540_000), long_request(2, 4_500_000), request(3)])
    expected, malformed = read_prediction_log(str(tmp_path))
    found = window(tmp_path)
    assert (found.rows, found.malformed) == (len(expected), malformed) == (4, 0)
    assert list(found.frame["request_id"]) == list(expected["request_id"])


def test_a_line_over_the_longest_duckdb_reads_is_one_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(log_reader, "LONGEST_LINE", 17 * 2**20)
    write(tmp_path, [request(0), long_request(1, 4_500_000)])
    with pytest.raises(UserError, match=r"holds a line over 17,825,792 bytes.*remove it"):
        window(tmp_path)


# Labels are read by a schema's target: a classifier's by class, a regressor's as numbers. Two
# schemas of their own, whatever the project's, and a target name that needs quoting in SQL.
TARGET = 'Churned? "next" year'


def _contract(target: dict[str, Any], positive: str | None) -> Schema:
    columns = {"x": {"type": "float64"}, TARGET: target}
    data = {"target": TARGET, "positive": positive, "id": None, "columns": columns}
    return parse_schema(data, Path("schema.yaml"))


CLASSES = _contract({"type": "string", "allowed": ["no", "yes"]}, "yes")
NUMBERS = _contract({"type": "float64"}, None)


def _labels(tmp_path: Path, rows: dict[str, list[Any]], name: str = "labels.csv") -> Path:
    path = tmp_path / name
    frame = pd.DataFrame(rows)
    if path.suffix == ".csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path)
    return path


def test_class_labels_become_1_and_0_and_empty_ones_are_not_yet_labelled(tmp_path: Path) -> None:
    path = _labels(tmp_path, {"request_id": ["a", "b", "c"], TARGET: ["yes", "no", None]})
    assert read_labels(path, CLASSES).to_dict("records") == [
        {"request_id": "a", "row": 0, "label": 1.0},
        {"request_id": "b", "row": 0, "label": 0.0},
    ]
    parquet = _labels(tmp_path, {"request_id": ["a"], "row": [2], TARGET: ["yes"]}, "l.parquet")
    assert read_labels(parquet, CLASSES).to_dict("records") == [
        {"request_id": "a", "row": 2, "label": 1.0}
    ]


def test_numeric_labels_are_read_as_numbers(tmp_path: Path) -> None:
    path = _labels(tmp_path, {"request_id": ["a", "b", "c"], TARGET: ["2.5", "-1", None]})
    assert read_labels(path, NUMBERS).to_dict("records") == [
        {"request_id": "a", "row": 0, "label": 2.5},
        {"request_id": "b", "row": 0, "label": -1.0},
    ]
    parquet = _labels(tmp_path, {"request_id": ["a"], "row": [1], TARGET: [3.0]}, "l.parquet")
    assert read_labels(parquet, NUMBERS).to_dict("records") == [
        {"request_id": "a", "row": 1, "label": 3.0}
    ]


def test_the_project_s_target_values_are_read(tmp_path: Path) -> None:
    contract = schema()
    given = [1.0, 0.0, 1.0] if contract.positive is not None else [1.5, 0.0, 42.0]
    path = _labels(tmp_path, {"request_id": ["a", "b", "c"], contract.target: raw_target(given)})
    assert read_labels(path, contract)["label"].tolist() == given


@pytest.mark.parametrize(
    ("contract", "rows", "expected"),
    [
        (CLASSES, {"request_id": ["a"], "label": ["yes"]}, f"missing column(s) {TARGET}"),
        (CLASSES, {"request_id": ["a", "a"], TARGET: ["yes", "no"]}, "1 duplicated (request_id"),
        (CLASSES, {"request_id": ["a"], TARGET: ["maybe"]}, "not one of no, yes"),
        (NUMBERS, {"request_id": ["a"], TARGET: ["yes"]}, "not a number"),
        (NUMBERS, {"request_id": ["a"], "row": ["first"], TARGET: ["1"]}, "not an integer"),
    ],
)
def test_bad_labels_are_user_errors(
    tmp_path: Path, contract: Schema, rows: dict[str, list[str]], expected: str
) -> None:
    with pytest.raises(UserError, match=re.escape(expected)) as caught:
        read_labels(_labels(tmp_path, rows), contract)
    assert "\n" not in str(caught.value)


def test_a_labels_file_of_another_format_is_a_user_error(tmp_path: Path) -> None:
    path = tmp_path / "labels.json"
    path.write_text("{}")
    with pytest.raises(UserError, match="unsupported format"):
        read_labels(path, NUMBERS)
