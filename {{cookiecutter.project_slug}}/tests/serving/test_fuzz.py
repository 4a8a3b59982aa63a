"""Property-based fuzzing of /predict: whatever the body, the answer is never a 500."""

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from {{ cookiecutter.package_name }}.core.schema import schema
from {{ cookiecutter.package_name }}.serving.app import create_app
from {{ cookiecutter.package_name }}.serving.settings import ServiceSettings

JSON = {"content-type": "application/json"}
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=20,
)
feature_values = {
    "numeric": st.none() | st.floats() | st.integers() | st.booleans() | st.text(max_size=5),
    "categorical": st.none() | st.text(max_size=12) | st.integers() | st.floats(),
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


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(raw=st.binary(max_size=200))
def test_arbitrary_bytes_never_answer_500(client: TestClient, raw: bytes) -> None:
    response = client.post("/predict", content=raw, headers=JSON)
    assert response.status_code in (400, 422), response.text
