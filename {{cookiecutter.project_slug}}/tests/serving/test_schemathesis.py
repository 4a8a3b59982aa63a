"""Schemathesis against the live app: every answer is one the OpenAPI document promises.

In-process ASGI calls with all of Schemathesis's checks (documented status codes, headers and
response schemas, valid data accepted, invalid data rejected, the API key enforced, ...), on
valid and invalid requests generated from the document, with and without the API key. The app's
lifespan (the model, the prediction log) starts with a test's first request; Schemathesis's
pytest plugin stops it when the test ends, also on failure.
"""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis.checks import positive_data_acceptance
from starlette.types import Receive, Scope, Send

from {{ cookiecutter.package_name }}.serving.app import create_app
from {{ cookiecutter.package_name }}.serving.settings import ServiceSettings

API_KEY = "k" * 24
# Examples per operation and generation mode (valid, invalid): both tests take seconds.
bounded = settings(
    max_examples=50,
    deadline=None,
    # One app (one loaded model) answers every example of a test.
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


def service_settings(**values: Any) -> ServiceSettings:
    """Settings from these values only (no environment, `.env` or secrets)."""
    return ServiceSettings.model_validate({"max_batch_rows": 4, **values})


class LiveApp:
    """The ASGI app a schema calls: it forwards to the app its test's fixture started.

    A schema keeps the app it is given when the module is imported, before the session's model
    exists, and Schemathesis's fixture loader (`schemathesis.pytest.from_fixture`) fails on
    pytest 9.2; this stand-in gives each test its own app all the same.
    """

    def __init__(self, **values: Any) -> None:
        self.values = values
        self.app: FastAPI | None = None

    def schema(self) -> schemathesis.BaseSchema:
        """The app's OpenAPI document (it depends on the settings only), calling this app."""
        loaded = schemathesis.openapi.from_dict(
            create_app(service_settings(**self.values)).openapi()
        )
        loaded.app = self
        return loaded

    def serve(self, model_dir: Path, log_dir: Path) -> Iterator[None]:
        """Answer with a new app serving the model in `model_dir` until the test ends."""
        values = {"model_dir": model_dir, "prediction_log_dir": log_dir, **self.values}
        self.app = create_app(service_settings(**values))
        try:
            yield
        finally:
            self.app = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert self.app is not None, "called outside its test's fixture"
        await self.app(scope, receive, send)


def beyond_json_schema(case: schemathesis.Case[Any]) -> list[schemathesis.CheckFunction]:
    """The checks a case cannot pass for a rule JSON Schema cannot state.

    A `columns` body's columns must be of equal length; a generated "valid" body whose columns
    are not is rightly refused (422), so the valid-data-accepted check is left out for it.
    """
    columns = case.body.get("columns") if isinstance(case.body, dict) else None
    if (
        isinstance(columns, dict)
        and len({len(v) for v in columns.values() if isinstance(v, list)}) > 1
    ):
        return [positive_data_acceptance]
    return []


open_app = LiveApp()
keyed_app = LiveApp(api_key=API_KEY)
open_schema = open_app.schema()
keyed_schema = keyed_app.schema()


@pytest.fixture
def serving_open(model_dir: Path, tmp_path: Path) -> Iterator[None]:
    yield from open_app.serve(model_dir, tmp_path / "log")


@pytest.fixture
def serving_keyed(model_dir: Path, tmp_path: Path) -> Iterator[None]:
    yield from keyed_app.serve(model_dir, tmp_path / "log")


@pytest.mark.usefixtures("serving_open")
@open_schema.parametrize()
@bounded
def test_the_api_keeps_its_contract(case: schemathesis.Case[Any]) -> None:
    case.call_and_validate(excluded_checks=beyond_json_schema(case))


@pytest.mark.usefixtures("serving_keyed")
@keyed_schema.parametrize()
@bounded
def test_the_api_keeps_its_contract_with_a_key(case: schemathesis.Case[Any]) -> None:
    case.call_and_validate(headers={"X-API-Key": API_KEY}, excluded_checks=beyond_json_schema(case))
