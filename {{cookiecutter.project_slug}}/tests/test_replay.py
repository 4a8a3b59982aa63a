"""The example request and the replay: raw rows -> records the service accepts, sent in batches."""

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import TypeAdapter

from {{ cookiecutter.package_name }}.core.config import DataConfig
from {{ cookiecutter.package_name }}.core.errors import UserError
from {{ cookiecutter.package_name }}.core.schema import feature_names, schema
from {{ cookiecutter.package_name }}.replay import (
    example_request,
    feature_rows,
    http_post,
    parse_shifts,
    records,
    replay,
)
from {{ cookiecutter.package_name }}.serving.app import create_app
from {{ cookiecutter.package_name }}.serving.payloads import request_model
from {{ cookiecutter.package_name }}.serving.settings import ServiceSettings
from tests.helpers import free_port, project_config, raw_rows, read_prediction_log, write_csv


@pytest.fixture
def table(tmp_path: Path) -> tuple[Path, DataConfig]:
    """A raw table made from schema.yaml's rules, and the smoke config's data section."""
    return write_csv(raw_rows(60, seed=3), tmp_path / "raw.csv"), project_config().data


def test_the_example_request_is_a_valid_predict_body(table: tuple[Path, DataConfig]) -> None:
    body = json.loads(example_request(*table, rows=3))
    TypeAdapter(request_model(10)).validate_python(body)  # the service's own request model
    assert [list(record) for record in body["records"]] == [feature_names()] * 3


def test_shifts_are_numeric_features_with_a_factor() -> None:
    numeric = feature_names("numeric")
    assert parse_shifts([f"{numeric[0]}=1.5"]) == {numeric[0]: 1.5}
    for bad, words in [
        ("nope=2", "not a numeric feature"),
        (f"{numeric[0]}=x", "not a number"),
        (f"{numeric[0]}=inf", "finite"),
    ]:
        with pytest.raises(UserError, match=words):
            parse_shifts([bad])


def test_a_shift_moves_a_feature_and_stays_in_its_range(table: tuple[Path, DataConfig]) -> None:
    column = feature_names("numeric")[0]
    plain = feature_rows(*table)
    shifted = feature_rows(*table, shifts={column: 1000.0})
    assert shifted[column].sum() > plain[column].sum()
    rule = next((c for c in schema().raw_columns if c.name == column), None)
    if rule is not None and rule.maximum is not None:
        assert shifted[column].max() <= float(rule.maximum)  # type: ignore[arg-type]
    TypeAdapter(request_model(100)).validate_python({"records": records(shifted)})


def test_replay_sends_every_row_in_batches(
    table: tuple[Path, DataConfig], model_dir: Path, tmp_path: Path
) -> None:
    settings = ServiceSettings.model_validate(
        {"model_dir": model_dir, "prediction_log_dir": tmp_path / "log"}
    )
    with TestClient(create_app(settings)) as client:

        def post(batch: list[dict[str, Any]]) -> dict[str, Any]:
            response = client.post("/predict", json={"records": batch})
            assert response.status_code == 200, response.text
            answer: dict[str, Any] = response.json()
            return answer

        done = replay(feature_rows(*table, rows=50), post, batch_rows=20)
    assert (done.rows, done.requests, done.model_version) == (50, 3, "7")
    logged, malformed = read_prediction_log(tmp_path / "log")
    assert (len(logged), malformed, logged["request_id"].nunique()) == (50, 0, 3)


def test_no_service_is_one_line_naming_make_serve() -> None:
    post = http_post(f"http://127.0.0.1:{free_port()}", timeout=2)
    with pytest.raises(UserError, match="make serve"):
        post([{}])
