"""POST /invocations: MLflow's scoring protocol on the same model, checks and prediction log."""

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from {{ cookiecutter.package_name }}.core.schema import feature_names
from {{ cookiecutter.package_name }}.serving.app import create_app
from tests.helpers import feature_records, not_a_feature, read_prediction_log
from tests.serving.test_app import API_KEY, records, settings

ROWS = 4


@pytest.fixture
def client(model_dir: Path, tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(settings(model_dir, tmp_path / "log", max_batch_rows=50))) as app:
        yield app


def _columns(rows: list[dict[str, Any]]) -> dict[str, list[Any]]:
    return {name: [row[name] for row in rows] for name in rows[0]}


def _csv(rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows({k: "" if v is None else v for k, v in row.items()} for row in rows)
    return out.getvalue()


def _body(form: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The rows as each body MLflow's scoring server accepts; as httpx `post` arguments."""
    split = pd.DataFrame(rows).astype(object).to_dict(orient="split")
    shapes: dict[str, Any] = {
        "dataframe_split": {"dataframe_split": split},
        "dataframe_split without index": {
            "dataframe_split": {"columns": list(rows[0]), "data": [list(r.values()) for r in rows]}
        },
        "dataframe_records": {"dataframe_records": rows},
        "instances as records": {"instances": rows},
        "instances as columns": {"instances": _columns(rows)},
        "inputs as columns": {"inputs": _columns(rows), "params": {}},
        "inputs as records": {"inputs": rows},
    }
    if form == "csv":
        return {"content": _csv(rows), "headers": {"content-type": "text/csv"}}
    return {
        "content": json.dumps(shapes[form]),
        "headers": {"content-type": "application/json; charset=utf-8"},
    }


FORMS = [
    "dataframe_split",
    "dataframe_split without index",
    "dataframe_records",
    "instances as records",
    "instances as columns",
    "inputs as columns",
    "inputs as records",
    "csv",
]


@pytest.mark.parametrize("form", FORMS)
def test_each_body_gets_the_predictions_predict_gives(client: TestClient, form: str) -> None:
    rows = feature_records(ROWS, seed=5)
    answer = client.post("/predict", json={"records": rows}).json()
    expected = [p["prediction"] for p in answer["predictions"]]
    response = client.post("/invocations", **_body(form, rows))
    assert response.status_code == 200, response.text
    assert response.json() == {"predictions": expected}
    assert response.headers["x-model-version"] == "7"


def test_invocations_are_logged_as_predict_logs_them(model_dir: Path, tmp_path: Path) -> None:
    rows = records(model_dir, 3)
    with TestClient(create_app(settings(model_dir, tmp_path / "log"))) as client:
        predicted = client.post("/predict", json={"records": rows})
        invoked = client.post("/invocations", json={"dataframe_records": rows})
    frame, malformed = read_prediction_log(tmp_path / "log")
    assert malformed == 0
    by_request = dict(iter(frame.groupby("request_id")))
    logged_predict = by_request[predicted.json()["request_id"]].drop(columns="request_id")
    logged_invoke = by_request[invoked.headers["x-request-id"]].drop(columns="request_id")
    assert list(logged_invoke.columns) == list(logged_predict.columns)
    same = ["row", "model_version", "prediction", *feature_names()]
    pd.testing.assert_frame_equal(
        logged_invoke[same].reset_index(drop=True), logged_predict[same].reset_index(drop=True)
    )


def _bad_bodies() -> dict[str, tuple[bytes | str, str, int, str]]:
    """Case -> (body, content type, status, what the message or error code must hold)."""
    row = feature_records(1, seed=3)[0]
    numeric = next(iter(feature_names("numeric")), None)
    wrong = {**row, numeric: "many"} if numeric else {**row, not_a_feature(): 1}
    return {
        "a list, not an object": ("[1, 2]", "application/json", 400, "exactly one of"),
        "two formats": (
            json.dumps({"dataframe_records": [row], "instances": [row]}),
            "application/json",
            400,
            "exactly one of",
        ),
        "an old (MLflow 1) body": (
            json.dumps({"columns": list(row), "data": [list(row.values())]}),
            "application/json",
            400,
            "exactly one of",
        ),
        "split row of the wrong length": (
            json.dumps({"dataframe_split": {"columns": list(row), "data": [[1]]}}),
            "application/json",
            400,
            "dataframe_split.data[0]",
        ),
        "columns of different lengths": (
            json.dumps({"inputs": {**_columns([row]), feature_names()[0]: []}}),
            "application/json",
            400,
            "different lengths",
        ),
        "a value the schema refuses": (
            json.dumps({"dataframe_records": [row, wrong]}),
            "application/json",
            400,
            "INVALID_PARAMETER_VALUE",
        ),
        "an unknown column": (
            json.dumps({"dataframe_records": [{**row, not_a_feature(): 1}]}),
            "application/json",
            400,
            not_a_feature(),
        ),
        "no rows": (json.dumps({"dataframe_records": []}), "application/json", 400, "rows"),
        "params not an object": (
            json.dumps({"dataframe_records": [row], "params": 1}),
            "application/json",
            400,
            "params",
        ),
        "not JSON": ("{", "application/json", 400, "not readable"),
        "not UTF-8": (b'{"inputs": "\xff"}', "application/json", 400, "not readable"),
        "CSV without a header": ("", "text/csv", 400, "first line"),
        "another content type": ("x", "text/plain", 415, "content types"),
        "another charset": ("{}", "application/json; charset=latin-1", 415, "UTF-8"),
    }


@pytest.mark.parametrize("case", list(_bad_bodies()))
def test_a_bad_body_is_mlflows_error_naming_the_problem(client: TestClient, case: str) -> None:
    content, content_type, status, named = _bad_bodies()[case]
    response = client.post("/invocations", content=content, headers={"content-type": content_type})
    assert response.status_code == status, response.text
    if status == 400:
        error = response.json()
        assert set(error) == {"error_code", "message"}
        assert "\n" not in error["message"]
        assert named in error["message"] or named == error["error_code"], error
    else:
        assert named in response.text
    assert client.get("/livez").status_code == 200


def test_mlflows_health_checks_answer_once_the_model_is_loaded(client: TestClient) -> None:
    for path in ("/ping", "/health"):
        assert client.get(path).status_code == 200, path


def test_the_api_key_guards_invocations(model_dir: Path, tmp_path: Path) -> None:
    body = {"dataframe_records": records(model_dir, 1)}
    with TestClient(create_app(settings(model_dir, tmp_path, api_key=API_KEY))) as client:
        assert client.post("/invocations", json=body).status_code == 401
        keyed = client.post("/invocations", json=body, headers={"X-API-Key": API_KEY})
    assert keyed.status_code == 200


def test_mlflows_own_scoring_client_works_unchanged(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`ScoringServerClient`, the client MLflow tests `mlflow models serve` with, as it is.

    Only its transport is the in-process app: `requests.post` becomes the TestClient's post.
    """
    import requests
    from mlflow.pyfunc.scoring_server.client import ScoringServerClient

    def post(url: str, data: str, headers: dict[str, str]) -> Any:
        return client.post(url, content=data, headers=headers)

    monkeypatch.setattr(requests, "post", post)
    rows = feature_records(ROWS, seed=8)
    frame = pd.DataFrame(rows)  # a missing number is NaN here, as in any client's frame
    answer = ScoringServerClient("testserver", 80).invoke(frame)  # type: ignore[no-untyped-call]
    expected = client.post("/predict", json={"records": rows}).json()["predictions"]
    assert answer.get_predictions()[0].tolist() == [p["prediction"] for p in expected]
