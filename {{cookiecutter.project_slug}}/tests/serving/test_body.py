"""The direct reading of a valid /predict body gives what FastAPI's validation gives, or nothing."""

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from {{ cookiecutter.package_name }}.core.schema import FeatureColumn, schema
from {{ cookiecutter.package_name }}.serving import body as body_module
from {{ cookiecutter.package_name }}.serving.app import create_app
from {{ cookiecutter.package_name }}.serving.body import (
    ColumnsReader,
    by_name,
    is_json,
    records_by_column,
)
from {{ cookiecutter.package_name }}.serving.payloads import request_model
from {{ cookiecutter.package_name }}.serving.settings import ServiceSettings
from tests.serving.test_fuzz import BOUNDS, feature_values, json_values

MAX_ROWS = 3
near_records = st.fixed_dictionaries(
    {column.name: feature_values[column.kind] for column in schema().features},
    optional={"unexpected": json_values},
)
near_columns = st.fixed_dictionaries(
    {
        column.name: st.lists(feature_values[column.kind], max_size=MAX_ROWS + 1)
        for column in schema().features
    },
    optional={"unexpected": json_values},
)


def valid_values(column: FeatureColumn) -> st.SearchStrategy[Any]:
    """Values a feature accepts (null, a number within its bounds, a short category)."""
    if column.kind == "categorical":
        return st.none() | st.text(max_size=12)
    bounds = BOUNDS.get(column.name, (None, None))
    low, high = (bound if isinstance(bound, int | float) else None for bound in bounds)
    numbers = st.floats(low, high, allow_nan=False, allow_infinity=False)
    return st.none() | numbers | numbers.map(round)


valid_records = st.lists(
    st.fixed_dictionaries({column.name: valid_values(column) for column in schema().features}),
    min_size=1,
    max_size=MAX_ROWS + 1,
)
bodies = (
    st.fixed_dictionaries({"records": valid_records})
    | valid_records.map(lambda rows: {"columns": {n: [row[n] for row in rows] for n in rows[0]}})
    | st.fixed_dictionaries({"records": st.lists(near_records, max_size=MAX_ROWS + 1)})
    | st.fixed_dictionaries({"columns": near_columns})
    | st.fixed_dictionaries({"records": json_values, "columns": near_columns})
    | json_values
)


def validated_columns(raw: bytes) -> Any:
    """What FastAPI's path makes of a body: the request model's columns, or None if invalid."""
    try:
        body = TypeAdapter(request_model(MAX_ROWS)).validate_python(json.loads(raw))
    except (ValidationError, ValueError):
        return None
    records = getattr(body, "records", None)
    return by_name(body.columns) if records is None else records_by_column(records)


def same(left: Any, right: Any) -> bool:
    """Equal tables, NaN aside (the reader never lets one through, nor does the model)."""
    return json.dumps(left, allow_nan=True) == json.dumps(right, allow_nan=True)


@settings(max_examples=400, deadline=None)
@given(body=bodies)
def test_the_reader_gives_what_validation_gives_and_nothing_for_an_invalid_body(body: Any) -> None:
    raw = json.dumps(body).encode()  # NaN and Infinity as bare tokens, as some clients send
    expected = validated_columns(raw)
    read = ColumnsReader(MAX_ROWS).columns(raw)
    assert same(read, expected), (read, expected)
    if read is not None:
        assert list(read) == [column.name for column in schema().features]


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"null",
        b"[]",
        b'{"records": []}',
        b'{"columns": {}}',
        b'\xef\xbb\xbf{"records": []}',  # a byte order mark: json.loads reads it, the reader not
        b'{"records": [{"x": "\\ud800"}]}',  # a lone surrogate: not text
        "{}".encode("utf-16"),
    ],
)
def test_bodies_the_reader_leaves_to_validation(raw: bytes) -> None:
    assert ColumnsReader(MAX_ROWS).columns(raw) is None


def test_unequal_columns_are_left_to_validation() -> None:
    columns = {column.name: [None] for column in schema().features}
    first = schema().features[0].name
    columns[first] = [None, None]
    assert ColumnsReader(MAX_ROWS).columns(json.dumps({"columns": columns}).encode()) is None


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        ("application/json", True),
        ("Application/JSON; charset=utf-8", True),
        ("application/merge-patch+json", False),
        ("text/plain", False),
        (None, False),
    ],
)
def test_only_plain_json_is_read_directly(content_type: str | None, expected: bool) -> None:
    assert is_json(content_type) is expected


def test_predict_reads_a_valid_body_directly_and_leaves_an_invalid_one_to_fastapi(
    model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    read: list[bool] = []
    columns = ColumnsReader.columns

    def counted(self: ColumnsReader, raw: bytes) -> Any:
        table = columns(self, raw)
        read.append(table is not None)
        return table

    monkeypatch.setattr(body_module.ColumnsReader, "columns", counted)
    values = {"model_dir": model_dir, "prediction_log_dir": tmp_path / "log"}
    row = {column.name: None for column in schema().features}
    with TestClient(create_app(ServiceSettings.model_validate(values))) as client:
        assert client.post("/predict", json={"records": [row]}).status_code == 200
        invalid = client.post("/predict", json={"records": [row | {"not a feature": 1}]})
    assert read == [True, False]
    assert invalid.status_code == 422
    assert invalid.json()["detail"].startswith("records[0]")
