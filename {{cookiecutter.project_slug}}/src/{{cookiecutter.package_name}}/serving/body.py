"""/predict bodies as columns: the validated request models', and a valid body's read directly.

FastAPI validates a body against the request models (`payloads.request_model`), which builds a
model instance per record and calls the range check's message function per value: most of a
large batch's time. `ColumnsReader` reads a valid body in compiled passes instead: pydantic-core
parses the JSON, records are turned into columns with C-level list operations, and the columns
are checked against `payloads.columns_model` without its message functions, so the same rules
run without Python code per row. Contract: for every body the request models accept, it gives
the same columns `records_by_column` / `by_name` give from the validated body; for any other body
(invalid, or not plain UTF-8 JSON) it gives None, and FastAPI's validation answers with its
one-line errors (`first_try` routes a request that way).
"""

from collections.abc import Awaitable, Callable, Coroutine
from operator import itemgetter
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError
from pydantic_core import from_json

from ..core.schema import schema
from .payloads import columns_model
from .runner import Columns

QuickHandler = Callable[[Request], Awaitable[Response | None]]


def records_by_column(records: list[BaseModel]) -> Columns:
    """Validated records (`payloads.record_model`) as columns, in the schema's order."""
    fields = type(records[0]).model_fields
    return {
        str(field.alias): [record.__dict__[attribute] for record in records]
        for attribute, field in fields.items()
    }


def by_name(columns: BaseModel) -> Columns:
    """Validated columns (`payloads.columns_model`) by feature name, in the schema's order."""
    return {
        str(field.alias): columns.__dict__[attribute]
        for attribute, field in type(columns).model_fields.items()
    }


class ColumnsReader:
    """Reads a valid /predict body (records or columns) of 1..max_rows rows into columns."""

    def __init__(self, max_rows: int) -> None:
        self._model = columns_model(max_rows, explained=False)
        self._getters = [(column.name, itemgetter(column.name)) for column in schema().features]

    def columns(self, raw: bytes) -> Columns | None:
        """The body's rows by column, in the schema's order; None unless the body is valid."""
        try:
            body = from_json(raw)
        except ValueError:
            return None
        if type(body) is not dict or len(body) != 1:
            return None
        table = body.get("columns")
        if "records" in body:
            table = self._transpose(body["records"])
        if table is None:
            return None
        try:
            return by_name(self._model.model_validate(table))
        except ValidationError:
            return None

    def _transpose(self, records: object) -> dict[str, list[object]] | None:
        """Records holding exactly the features, by column (values not yet checked); else None."""
        if type(records) is not list or set(map(type, records)) != {dict}:
            return None
        if sum(map(len, records)) != len(records) * len(self._getters):
            return None  # a record with a key that is not a feature (or one missing)
        try:
            return {name: list(map(get, records)) for name, get in self._getters}
        except KeyError:
            return None


def is_json(content_type: str | None) -> bool:
    """The content type is `application/json` (parameters aside)."""
    return (content_type or "").partition(";")[0].strip().lower() == "application/json"


def first_try(quick: QuickHandler) -> type[APIRoute]:
    """A route class answering with `quick` where it answers, else with FastAPI's own handling.

    `quick(request)` returns a response, or None to let FastAPI validate the body and call the
    endpoint (and answer a bad body with its errors). The body is read once: Starlette keeps it.
    """

    class FirstTry(APIRoute):
        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            validated = super().get_route_handler()

            async def handler(request: Request) -> Response:
                return await quick(request) or await validated(request)

            return handler

    return FirstTry
