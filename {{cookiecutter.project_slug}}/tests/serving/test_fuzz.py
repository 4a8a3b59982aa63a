"""Property-based fuzzing of /predict: whatever the body, the answer is never a 500; a record is
answered exactly when each value is what the README's "Serving" section says a field accepts."""

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from {{ cookiecutter.package_name }}.core.schema import FeatureColumn, schema
from {{ cookiecutter.package_name }}.serving.app import create_app
from {{ cookiecutter.package_name }}.serving.payloads import MAX_CATEGORY_LENGTH
from {{ cookiecutter.package_name }}.serving.settings import ServiceSettings

JSON = {"content-type": "application/json"}
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=20,
)
BOUNDS = {c.name: (c.minimum, c.maximum) for c in schema().raw_columns}
# Numbers at and just beyond each bound, text at and just beyond the longest category, text that
# is not valid Unicode (a lone surrogate), and the values (±1e308).
near_bounds = st.sampled_from(
    [
        math.nextafter(float(bound), direction)
        for low, high in BOUNDS.values()
        for bound in (low, high)
        if isinstance(bound, int | float)
        for direction in (-math.inf, math.inf)
    ]
    + [1e308, -1e308, 5e-324]
)
feature_values = {
    "numeric": st.none()
    | st.floats()
    | st.integers()
    | near_bounds
    | st.booleans()
    | st.text(max_size=5),
    "categorical": st.none()
    | st.text(max_size=12)
    | st.text(min_size=MAX_CATEGORY_LENGTH - 1, max_size=MAX_CATEGORY_LENGTH + 1)
    | st.just("a lone surrogate \ud800")
    | st.integers()
    | st.floats(),
}
# Records close to valid, so that fuzzing reaches the model, not only the validator.
near_records = st.fixed_dictionaries(
    {column.name: feature_values[column.kind] for column in schema().features},
    optional={"unexpected": json_values},
)
bodies = (
    st.fixed_dictionaries({"records": st.lists(near_records, max_size=5)})
    | st.fixed_dictionaries({"records": json_values})
    | json_values
)


@pytest.fixture(scope="module")
def client(model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    log = tmp_path_factory.mktemp("fuzz-log")
    values = {"model_dir": model_dir, "prediction_log_dir": log, "max_batch_rows": 4}
    app = create_app(ServiceSettings.model_validate(values))
    with TestClient(app, raise_server_exceptions=False) as started:
        yield started


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=bodies)
def test_predict_never_answers_500(client: TestClient, body: Any) -> None:
    # json.dumps writes NaN and Infinity as bare tokens, as some clients do: they must get a 422.
    response = client.post("/predict", content=json.dumps(body), headers=JSON)
    assert response.status_code in (200, 413, 422), response.text
    assert response.json()["detail" if response.status_code != 200 else "predictions"]


def accepted(column: FeatureColumn, value: Any) -> bool:
    """The README's rule for one field: null; a finite number within the raw column's `min` and
    `max`; a valid string of at most MAX_CATEGORY_LENGTH characters."""
    if value is None:
        return True
    if column.kind == "categorical":
        if not isinstance(value, str) or len(value) > MAX_CATEGORY_LENGTH:
            return False
        return not any(0xD800 <= ord(character) <= 0xDFFF for character in value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        number = float(value)
    except OverflowError:  # an integer beyond any float
        return False
    low, high = BOUNDS.get(column.name, (None, None))
    return (
        math.isfinite(number)
        and (low is None or number >= low)  # type: ignore[operator]
        and (high is None or number <= high)  # type: ignore[operator]
    )


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(records=st.lists(near_records, min_size=1, max_size=4))
def test_records_are_answered_exactly_when_every_value_is_accepted(
    client: TestClient, records: list[dict[str, Any]]
) -> None:
    expected = all(
        set(record) == {c.name for c in schema().features}
        and all(accepted(c, record[c.name]) for c in schema().features)
        for record in records
    )
    response = client.post("/predict", content=json.dumps({"records": records}), headers=JSON)
    assert response.status_code == (200 if expected else 422), response.text[:500]


def test_a_number_out_of_its_range_names_the_field_the_range_and_the_fix(
    client: TestClient,
) -> None:
    numeric = {c.name for c in schema().features if c.kind == "numeric"}
    column = next(
        (c for c in schema().raw_columns if c.name in numeric and c.minimum is not None), None
    )
    if column is None:
        pytest.skip("no numeric feature has a min in schema.yaml")
    record = {c.name: None for c in schema().features} | {column.name: -1e308}
    response = client.post("/predict", json={"records": [record]})
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert detail.startswith("records[0]")
    assert f"-1e+308 is outside {column.name}'s range in schema.yaml" in detail
    assert str(column.minimum) in detail and "widen the range there and retrain" in detail


def test_a_category_longer_than_the_limit_is_refused(client: TestClient) -> None:
    categorical = [c.name for c in schema().features if c.kind == "categorical"]
    if not categorical:
        pytest.skip("no categorical feature")
    # The value: 700,000 emoji, 2.8 MB in a UTF-8 body, under MAX_BODY_BYTES.
    record = {c.name: None for c in schema().features} | {categorical[0]: "\U0001f600" * 700_000}
    body = json.dumps({"records": [record]}, ensure_ascii=False).encode()
    response = client.post("/predict", content=body, headers=JSON)
    assert response.status_code == 422
    assert f"at most {MAX_CATEGORY_LENGTH} characters" in response.json()["detail"]


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(raw=st.binary(max_size=200))
def test_arbitrary_bytes_never_answer_500(client: TestClient, raw: bytes) -> None:
    response = client.post("/predict", content=raw, headers=JSON)
    assert response.status_code in (400, 422), response.text
