"""Schemathesis against the live app: every answer is one the OpenAPI document promises.

In-process ASGI calls with all of Schemathesis's checks (documented status codes and headers,
response schemas, valid data accepted, invalid data rejected, the API key not ignored, ...), on
valid and invalid requests generated from the document, with and without the API key. The app's
lifespan (the model, the prediction log) starts with its first request; Schemathesis's pytest
plugin stops it when each test ends, also on failure.
"""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings

from {{ cookiecutter.package_name }}.serving.app import create_app
from {{ cookiecutter.package_name }}.serving.settings import ServiceSettings

API_KEY = "k" * 24
# Examples per operation and generation mode: keeps both tests to seconds.
MAX_EXAMPLES = 25
bounded = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    # One app (one loaded model) serves every example of a test.
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


def service_settings(**values: Any) -> ServiceSettings:
    """Settings from these values only (no environment, `.env` or secrets)."""
    return ServiceSettings.model_validate({"max_batch_rows": 4, **values})


# The documents depend on the settings and schema.yaml only: no model is needed to write them.
open_schema = schemathesis.openapi.from_dict(create_app(service_settings()).openapi())
keyed_schema = schemathesis.openapi.from_dict(
    create_app(service_settings(api_key=API_KEY)).openapi()
)


def live_app(model_dir: Path, log_dir: Path, **values: Any) -> FastAPI:
    return create_app(service_settings(model_dir=model_dir, prediction_log_dir=log_dir, **values))


@pytest.fixture
def open_app(model_dir: Path, tmp_path: Path) -> Iterator[FastAPI]:
    yield live_app(model_dir, tmp_path / "log")


@pytest.fixture
def keyed_app(model_dir: Path, tmp_path: Path) -> Iterator[FastAPI]:
    yield live_app(model_dir, tmp_path / "log", api_key=API_KEY)


@open_schema.parametrize()
@bounded
def test_the_api_keeps_its_contract(case: schemathesis.Case, open_app: FastAPI) -> None:
    case.call_and_validate(app=open_app)


@keyed_schema.parametrize()
@bounded
def test_the_api_keeps_its_contract_with_a_key(
    case: schemathesis.Case, keyed_app: FastAPI
) -> None:
    case.call_and_validate(app=keyed_app, headers={"X-API-Key": API_KEY})
