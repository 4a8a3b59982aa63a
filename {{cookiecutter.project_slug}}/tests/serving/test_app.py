"""The service through FastAPI's TestClient: every endpoint and every kind of bad input."""

import gc
import json
import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import skops.io
from fastapi.testclient import TestClient

from {{ cookiecutter.package_name }}.core.errors import UserError
from {{ cookiecutter.package_name }}.core.estimators import SKOPS_TRUSTED_TYPES
from {{ cookiecutter.package_name }}.core.schema import feature_names, schema
from {{ cookiecutter.package_name }}.serving.app import create_app
from {{ cookiecutter.package_name }}.serving.payloads import MAX_CATEGORY_LENGTH, PredictResponse
from {{ cookiecutter.package_name }}.serving.settings import ServiceSettings
from tests.helpers import feature_records, not_a_feature, read_prediction_log

API_KEY = "k" * 24


def records(model_dir: Path, count: int = 3) -> list[dict[str, Any]]:
    """Rows of real features (missing values as null), as a client sends them."""
    return _as_records(pd.read_parquet(model_dir / "features.parquet").head(count))


def _as_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        {str(k): None if isinstance(v, float) and math.isnan(v) else v for k, v in row.items()}
        for row in frame.astype(object).to_dict("records")
    ]


def settings(model_dir: Path, log_dir: Path, **extra: Any) -> ServiceSettings:
    """Validated settings from these values only (no environment, `.env` or secrets)."""
    return ServiceSettings.model_validate(
        {"model_dir": model_dir, "prediction_log_dir": log_dir, **extra}
    )


@pytest.fixture
def client(model_dir: Path, tmp_path: Path) -> Iterator[TestClient]:
    app = create_app(
        settings(model_dir, tmp_path / "log", max_batch_rows=50, max_body_bytes=20_000)
    )
    with TestClient(app) as started:
        yield started


def test_predict_answers_with_the_version_and_a_request_id(
    client: TestClient, model_dir: Path
) -> None:
    response = client.post("/predict", json={"records": records(model_dir)})
    assert response.status_code == 200
    body = PredictResponse.model_validate(response.json())
    assert (body.model_name, body.model_version) == ("test-model", "7")
    assert response.headers["x-request-id"] == body.request_id
    assert response.headers["x-model-version"] == "7"
    assert response.headers["x-model-run-id"] == "run-7"
    assert len(response.headers["x-model-training-fingerprint"]) == 64
    assert len(body.predictions) == 3
    regressor = client.get("/model").json()["problem_type"] == "regression"
    for prediction in response.json()["predictions"]:
        assert set(prediction) == {"prediction", "probabilities"}, "both keys, always"
        if regressor:
            assert prediction["probabilities"] is None
        else:
            assert math.isclose(sum(prediction["probabilities"].values()), 1.0)


def test_predictions_equal_the_pipeline_on_the_same_rows(
    client: TestClient, model_dir: Path
) -> None:
    frame = pd.read_parquet(model_dir / "features.parquet").head(40).astype(object)
    for i in range(frame.shape[1]):  # every feature is missing somewhere
        frame.iloc[i % len(frame) :: 7, i] = None
    response = client.post("/predict", json={"records": _as_records(frame)})
    model = skops.io.load(model_dir / "model.skops", trusted=SKOPS_TRUSTED_TYPES)
    numeric = feature_names("numeric")
    inputs = frame.astype({name: "float64" for name in numeric})
    for name in feature_names("categorical"):  # a missing category is NaN, as the service makes it
        inputs[name] = inputs[name].where(inputs[name].notna(), np.nan)
    expected = model.predict(inputs)
    served = [p["prediction"] for p in response.json()["predictions"]]
    np.testing.assert_allclose(served, expected)


def test_any_record_the_schema_allows_is_answered(client: TestClient) -> None:
    """Values drawn from schema.yaml's rules, nulls and categories training never saw included."""
    rows = feature_records(30, seed=11)
    response = client.post("/predict", json={"records": rows})
    assert response.status_code == 200, response.text
    assert len(response.json()["predictions"]) == 30


def by_column(rows: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """The same rows as a `columns` body holds them."""
    return {name: [row[name] for row in rows] for name in rows[0]}


def test_columns_and_records_get_the_same_predictions(client: TestClient) -> None:
    rows = feature_records(30, seed=12)
    as_records = client.post("/predict", json={"records": rows})
    as_columns = client.post("/predict", json={"columns": by_column(rows)})
    assert as_records.status_code == as_columns.status_code == 200, as_columns.text
    assert as_columns.json()["predictions"] == as_records.json()["predictions"]


def _bad_values() -> list[tuple[str, Any]]:
    """A value each feature refuses: a wrong type, and one beyond a bound or length limit."""
    bad: list[tuple[str, Any]] = []
    for name in feature_names("categorical"):
        bad += [(name, 3), (name, "x" * (MAX_CATEGORY_LENGTH + 1))]
    for column in (c for c in schema().raw_columns if c.name in feature_names("numeric")):
        bad.append((column.name, "many"))
        if isinstance(column.maximum, int | float):
            bad.append((column.name, column.maximum + 1))
    return bad


@pytest.mark.parametrize("feature, value", _bad_values())
def test_columns_are_refused_as_records_are(client: TestClient, feature: str, value: Any) -> None:
    rows = feature_records(3, seed=13)
    rows[1] = {**rows[1], feature: value}
    as_records = client.post("/predict", json={"records": rows}).json()["errors"]
    as_columns = client.post("/predict", json={"columns": by_column(rows)}).json()["errors"]
    assert [e["loc"] for e in as_records] == [["body", "records", 1, feature]]
    assert [e["loc"] for e in as_columns] == [["body", "columns", feature, 1]]
    assert [(e["msg"], e["type"]) for e in as_columns] == [
        (e["msg"], e["type"]) for e in as_records
    ]


def test_columns_of_unequal_length_or_too_many_rows_are_refused(client: TestClient) -> None:
    columns = by_column(feature_records(3, seed=14))
    first, last = feature_names()[0], feature_names()[-1]
    short = client.post("/predict", json={"columns": {**columns, last: columns[last][:2]}})
    assert short.status_code == 422
    assert short.json()["detail"] == (
        f"columns: {last} holds 2 values, {first} 3; send one value per row in every column"
    )
    long = client.post("/predict", json={"columns": {k: v * 17 for k, v in columns.items()}})
    assert long.status_code == 422
    assert "List should have at most 50 items" in long.json()["detail"]


def test_a_reused_client_request_id_is_echoed_but_log_keys_stay_unique(
    model_dir: Path, tmp_path: Path
) -> None:
    body = {"records": records(model_dir, 2)}
    with TestClient(create_app(settings(model_dir, tmp_path / "log"))) as client:
        reused = {"X-Request-ID": "abc-123"}
        answers = [client.post("/predict", json=body, headers=reused) for _ in range(2)]
        unplain = client.post("/predict", json=body, headers={"X-Request-ID": "a b"})
    ids = [answer.json()["request_id"] for answer in answers]
    assert [answer.headers["x-request-id"] for answer in answers] == ["abc-123"] * 2
    assert all(re.fullmatch(r"abc-123\.[0-9a-f]{32}", request_id) for request_id in ids)
    assert ids[0] != ids[1]
    assert unplain.headers["x-request-id"] == unplain.json()["request_id"] != "a b"
    frame, _ = read_prediction_log(tmp_path / "log")
    assert not frame.duplicated(["request_id", "row"]).any()
    assert set(frame["request_id"]) == {*ids, unplain.json()["request_id"]}


def _at(name: str) -> str:
    """Where an error names a field of the first record: `.name`, or `["a name"]` when needed."""
    return (
        f"records[0].{name}"
        if name.isidentifier()
        else f"records[0][{json.dumps(name, ensure_ascii=False)}]"
    )


def _bad(model_dir: Path, case: str) -> tuple[dict[str, Any], int, str]:
    """A bad request for each case, the status it must get and what the message must name."""
    row = records(model_dir, 1)[0]
    first = feature_names()[0]
    numeric = next(iter(feature_names("numeric")), None)
    categorical = next(iter(feature_names("categorical")), None)
    if case in ("wrong type", "NaN") and numeric is None:
        pytest.skip("the schema has no numeric feature")
    if case == "wrong category type" and categorical is None:
        pytest.skip("the schema has no categorical feature")
    if case == "wrong type" and numeric is not None:
        return {"json": {"records": [{**row, numeric: "many"}]}}, 422, _at(numeric)
    if case == "wrong category type" and categorical is not None:
        return {"json": {"records": [{**row, categorical: 3}]}}, 422, _at(categorical)
    if case == "missing field":
        partial = {k: v for k, v in row.items() if k != first}
        return {"json": {"records": [partial]}}, 422, f"{_at(first)}: Field required"
    if case == "unknown field":
        unknown = not_a_feature()
        return {"json": {"records": [{**row, unknown: "red"}]}}, 422, _at(unknown)
    if case == "empty batch":
        return {"json": {"records": []}}, 422, "records: List should have at least 1 item"
    if case == "batch above the limit":
        return {"json": {"records": [row] * 51}}, 422, "records: List should have at most 50"
    if case == "body above the size limit":
        return {"json": {"records": [row], "pad": "x" * 20_000}}, 413, "MAX_BODY_BYTES"
    if case == "invalid JSON":
        headers = {"content-type": "application/json"}
        return {"content": b'{"records": [', "headers": headers}, 422, "body: invalid JSON"
    if case == "not an object":
        return {"json": [row]}, 422, "body: Input should be a valid dictionary"
    if case == "unknown top-level key":
        return {"json": {"records": [row], "extra": 1}}, 422, "extra: Extra inputs"
    if case == "NaN" and numeric is not None:
        headers = {"content-type": "application/json"}
        text = json.dumps({"records": [{**row, numeric: float("nan")}]})
        return {"content": text.encode(), "headers": headers}, 422, _at(numeric)
    raise AssertionError(case)


BAD_CASES = [
    "wrong type",
    "wrong category type",
    "missing field",
    "unknown field",
    "empty batch",
    "batch above the limit",
    "body above the size limit",
    "invalid JSON",
    "not an object",
    "unknown top-level key",
    "NaN",
]


@pytest.mark.parametrize("case", BAD_CASES)
def test_bad_input_is_a_4xx_naming_the_field(
    client: TestClient, model_dir: Path, case: str
) -> None:
    request, status, named = _bad(model_dir, case)
    response = client.post("/predict", **request)
    assert response.status_code == status, response.text
    assert named in response.json()["detail"]
    assert client.get("/livez").status_code == 200, "the worker is still alive"


def test_body_above_the_limit_without_content_length(client: TestClient) -> None:
    chunks = (b"x" * 5_000 for _ in range(5))
    response = client.post("/predict", content=chunks, headers={"content-type": "application/json"})
    assert response.status_code == 413


# Bodies FastAPI cannot parse as JSON at all; the nesting is deeper than any supported Python's
# JSON parser goes (3.13 reads 9,000 levels), and the body is within the default MAX_BODY_BYTES.
NOT_JSON = {
    "not UTF-8": (b'{"records": "\xff\xfe"}', "body: not utf-8 text"),
    "an integer over the digit limit": (b'{"records": [' + b"9" * 5_000 + b"]}", "4300 digits"),
    "deep nesting": (b'{"records": ' + b"[" * 200_000 + b"]" * 200_000 + b"}", "nested too deeply"),
}


@pytest.mark.parametrize("case", NOT_JSON)
def test_a_body_that_is_not_json_is_a_documented_400_naming_the_problem(
    model_dir: Path, tmp_path: Path, case: str
) -> None:
    content, named = NOT_JSON[case]
    with TestClient(create_app(settings(model_dir, tmp_path))) as client:
        response = client.post(
            "/predict", content=content, headers={"content-type": "application/json"}
        )
        documented = client.get("/openapi.json").json()["paths"]["/predict"]["post"]["responses"]
    assert response.status_code == 400, response.text
    assert response.json()["detail"].startswith("body: ")
    assert named in response.json()["detail"]
    assert documented["400"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Problem"
    }


def test_health_model_and_metrics(client: TestClient, model_dir: Path) -> None:
    client.post("/predict", json={"records": records(model_dir, 2)})
    assert client.get("/livez").json() == {"status": "alive"}
    assert client.get("/readyz").json() == {"status": "ready"}
    for path in ("/livez", "/readyz"):
        assert not [name for name in client.get(path).headers if name.startswith("x-model-")]
    described = client.get("/model").json()
    assert described["version"] == "7"
    assert described["source_uri"] == "models:/test-model@champion"
    assert described["metrics"] == {"score": 0.5}
    assert described["signature"]["inputs"]
    text = client.get("/metrics").text
    assert 'predictions_total{model_name="test-model",model_version="7"} 2.0' in text
    assert 'http_requests_total{method="POST",route="/predict",status="200"}' in text
    assert "http_request_duration_seconds_bucket" in text
    assert "http_requests_in_flight" in text


def test_not_ready_until_the_model_is_loaded(model_dir: Path, tmp_path: Path) -> None:
    client = TestClient(create_app(settings(model_dir, tmp_path)))  # no lifespan: not started
    assert client.get("/livez").status_code == 200
    assert client.get("/readyz").status_code == 503
    response = client.post("/predict", json={"records": records(model_dir, 1)})
    assert response.status_code == 503
    assert "not loaded" in response.json()["detail"]


def test_start_up_objects_are_frozen_out_of_garbage_collection(
    model_dir: Path, tmp_path: Path
) -> None:
    gc.unfreeze()
    try:
        with TestClient(create_app(settings(model_dir, tmp_path))) as client:
            assert client.get("/readyz").status_code == 200
            assert gc.get_freeze_count() > 0, "the loaded model and libraries are frozen"
    finally:
        gc.unfreeze()


def test_docs_work_offline(client: TestClient) -> None:
    for page in ("/docs", "/redoc"):
        html = client.get(page).text
        assert not re.search(r"(src|href)=\"https?://", html), f"{page} loads from the network"
        for asset in re.findall(r"(?:src|href)=\"(/[^\"]+)\"", html):
            assert client.get(asset).status_code == 200, asset
    schema = client.get("/openapi.json").json()
    record = schema["components"]["schemas"]["Record"]
    assert record["required"] == feature_names()
    assert record["additionalProperties"] is False
    assert "securitySchemes" not in schema["components"], "no API_KEY: nothing to authorise"


def _model_headers(response: Any) -> list[str]:
    return [name for name in response.headers if name.startswith("x-model-")]


def test_api_key_guards_everything_but_health_and_docs(model_dir: Path, tmp_path: Path) -> None:
    app = create_app(settings(model_dir, tmp_path, api_key=API_KEY))
    body = {"records": records(model_dir, 1)}
    with TestClient(app) as client:
        assets = re.findall(r"(?:src|href)=\"(/[^\"]+)\"", client.get("/docs").text)
        for path in ("/livez", "/readyz", "/docs", "/redoc", "/openapi.json", *assets):
            public = client.get(path)
            assert public.status_code == 200, path
            assert not _model_headers(public), f"{path} tells no one which model is served"
        for path in ("/model", "/metrics"):
            assert client.get(path).status_code == 401, path
        refused = [
            client.post("/predict", json=body, headers=headers)
            for headers in (
                {},
                {"X-API-Key": "w" * 24},
                {"Authorization": API_KEY},  # no scheme
                {"Authorization": f"Basic {API_KEY}"},
                {"Authorization": f"Bearer{API_KEY}"},
            )
        ]
        for answer in refused:
            assert answer.status_code == 401, answer.request.headers
            assert "API key" in answer.json()["detail"]
            assert not _model_headers(answer), "a refused client learns nothing about the model"
        for headers in (
            {"X-API-Key": API_KEY},
            {"Authorization": f"Bearer {API_KEY}"},
            {"Authorization": f"bearer {API_KEY}"},
        ):
            accepted = client.post("/predict", json=body, headers=headers)
            assert accepted.is_success, headers
            assert accepted.headers["x-model-version"] == "7"
        openapi = client.get("/openapi.json").json()
    # Declared, so /docs has an "Authorize" button for either header.
    assert openapi["components"]["securitySchemes"] == {
        "ApiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
        "Bearer": {"type": "http", "scheme": "bearer"},
    }
    for path, operations in openapi["paths"].items():
        for operation in operations.values():
            guarded = path not in ("/livez", "/readyz")
            assert operation.get("security") == (
                [{"ApiKey": []}, {"Bearer": []}] if guarded else None
            )
            assert ("401" in operation["responses"]) == guarded, path


def test_every_request_is_logged_with_its_version(model_dir: Path, tmp_path: Path) -> None:
    app = create_app(settings(model_dir, tmp_path / "log"))
    with TestClient(app) as client:
        ids = [
            client.post("/predict", json={"records": records(model_dir, n)}).json()["request_id"]
            for n in (1, 2, 3)
        ]
    frame, malformed = read_prediction_log(tmp_path / "log")
    assert malformed == 0
    assert frame.groupby("request_id").size().to_dict() == dict(zip(ids, (1, 2, 3), strict=True))
    assert set(frame["model_version"]) == {"7"}
    assert set(frame["run_id"]) == {"run-7"}
    assert list(frame.columns[-len(feature_names()) :]) == feature_names()


def test_bad_settings_are_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAX_BATCH_ROWS", "lots")
    monkeypatch.setenv("MODEL_URI", "runs:/abc/model")
    with pytest.raises(UserError) as caught:
        ServiceSettings.from_env()
    message = str(caught.value)
    assert "\n" not in message
    assert "MAX_BATCH_ROWS='lots'" in message
    assert "MODEL_URI='runs:/abc/model': use models:/<name>/<version>" in message
    monkeypatch.delenv("MAX_BATCH_ROWS")
    monkeypatch.delenv("MODEL_URI")
    monkeypatch.setenv("API_KEY", "secret-key")
    with pytest.raises(UserError, match="API_KEY: use a key of at least 16 characters") as key:
        ServiceSettings.from_env()
    assert "secret-key" not in str(key.value), "the key is never shown"
