"""POST /invocations: MLflow's scoring protocol; a client of `mlflow models serve` works unchanged.

Accepted, as MLflow's scoring server accepts them (`application/json` or `text/csv`, UTF-8):
`{"dataframe_split": {"columns": [...], "data": [[...], ...]}}` (an `index` is ignored),
`{"dataframe_records": [{...}, ...]}`, `{"instances": ...}` and `{"inputs": ...}` (records, or
columns as `{name: [values]}`), a `params` object beside them (ignored, as MLflow ignores it for
a model without parameters), and a CSV table with a header row (an empty cell is a missing
value; NaN, as pandas sends a missing value, is one too). The rows become /predict's records:
the same schema checks, the same scoring, the same prediction log line and the same API key.
The answer is MLflow's: `{"predictions": [...]}`, one label (classifier) or value per row; a
bad body is MLflow's error body, `{"error_code": ..., "message": ...}`, with status 400 (415
for a content type it does not take). `GET /ping` and `/health` answer as MLflow's do: 200 once
the model is loaded (503 before; unlike /readyz they need the API key when one is set).

The routes are left out of the OpenAPI document, as MLflow's are: the bodies (columns of equal
length, rows as long as the header) are more than a JSON schema can state, and /predict is the
documented API.
"""

import csv
import io
import json
import math
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel, ValidationError

from ..core.schema import feature_names
from .runner import ScoringError

Predict = Callable[[Any, Request], Awaitable[Response]]

FORMATS = ("dataframe_split", "dataframe_records", "instances", "inputs")
CONTENT_TYPES = ("application/json", "text/csv")
MAX_LISTED_ERRORS = 3
EXAMPLE = '{"dataframe_split": {"columns": [<feature>, ...], "data": [[<value>, ...], ...]}}'
COLUMNS = "{<feature>: [<value>, ...], ...}"
RECORD = "{<feature>: <value>, ...}"


class BadBody(Exception):
    """The body is not one of the protocol's shapes; the message says which shape to send."""


def _error(code: str, message: str) -> JSONResponse:
    """MLflow's error body (`MlflowException.serialize_as_json`), status 400."""
    return JSONResponse({"error_code": code, "message": message}, status_code=400)


def _short(value: Any) -> str:
    """A value as it appears in a message: its JSON text, at most 30 characters."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 30 else text[:27] + "..."


def _rows_from_columns(columns: dict[str, Any], where: str) -> list[Any]:
    """`{name: [values]}` as records; every list is as long as the first."""
    if not columns or not all(isinstance(values, list) for values in columns.values()):
        raise BadBody(f"{where}: send columns as {COLUMNS}")
    lengths = {len(values) for values in columns.values()}
    if len(lengths) != 1:
        raise BadBody(f"{where}: the columns have different lengths ({sorted(lengths)[:5]})")
    return [dict(zip(columns, row, strict=True)) for row in zip(*columns.values(), strict=True)]


def _rows_from_split(split: Any) -> list[Any]:
    """The `split` orient of pandas: `columns` names each position of every row in `data`."""
    if not isinstance(split, dict) or not isinstance(split.get("columns"), list):
        raise BadBody(f"dataframe_split: send {EXAMPLE}")
    columns, data = split["columns"], split.get("data")
    if not isinstance(data, list) or not all(isinstance(row, list) for row in data):
        raise BadBody(f"dataframe_split.data: send a list of rows, each a list; {EXAMPLE}")
    if unknown := set(split) - {"columns", "data", "index"}:
        raise BadBody(f"dataframe_split: unexpected key {_short(sorted(unknown)[0])}")
    if not all(isinstance(name, str) for name in columns):
        raise BadBody("dataframe_split.columns: send the feature names as strings")
    for i, row in enumerate(data):
        if len(row) != len(columns):
            raise BadBody(
                f"dataframe_split.data[{i}]: {len(row)} values for {len(columns)} columns"
            )
    return [dict(zip(columns, row, strict=True)) for row in data]


def rows_from_json(body: Any) -> list[Any]:
    """The rows a JSON body holds, in order (not yet validated); BadBody if it has none."""
    if not isinstance(body, dict):
        raise BadBody(f"body: send a JSON object with exactly one of {', '.join(FORMATS)}")
    given = [key for key in FORMATS if key in body]
    if len(given) != 1 or set(body) - {*FORMATS, "params"}:
        keys = ", ".join(_short(key) for key in list(body)[:5])
        raise BadBody(f"body: send exactly one of {', '.join(FORMATS)} (and `params`); got {keys}")
    if not isinstance(body.get("params", {}), dict):
        raise BadBody("params: send an object, or leave it out (this model takes no parameters)")
    key = given[0]
    value = body[key]
    if key == "dataframe_split":
        return _rows_from_split(value)
    if isinstance(value, list) and all(isinstance(row, dict) for row in value):
        return value
    if key != "dataframe_records" and isinstance(value, dict):
        return _rows_from_columns(value, key)
    shapes = "a list of records" + (" or columns" if key != "dataframe_records" else "")
    raise BadBody(f"{key}: send {shapes}, each record {RECORD}")


def rows_from_csv(text: str) -> list[Any]:
    """The rows of a CSV table with a header row: numbers parsed, an empty cell missing."""
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if not header:
        raise BadBody("body: send a CSV table whose first line names the features")
    numeric = set(feature_names("numeric"))
    rows = []
    for i, cells in enumerate(reader):
        if len(cells) != len(header):
            raise BadBody(f"row {i}: {len(cells)} cells for {len(header)} columns")
        row: dict[str, Any] = {}
        for name, cell in zip(header, cells, strict=True):
            if cell == "":
                row[name] = None
            elif name in numeric:
                try:
                    row[name] = float(cell)
                except ValueError:
                    raise BadBody(f"row {i}, {name}: {_short(cell)} is not a number") from None
            else:
                row[name] = cell
        rows.append(row)
    return rows


def _nan_as_null(row: Any) -> Any:
    """NaN is how pandas (and so MLflow's clients) sends a missing value: null, as /predict's."""
    if not isinstance(row, dict):
        return row
    return {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in row.items()}


def _schema_message(error: ValidationError) -> str:
    """The first few problems, each naming the row and the column: `row 0, <column>: ...`."""
    items = error.errors()
    lines = []
    for item in items[:MAX_LISTED_ERRORS]:
        place = [str(part) for part in item["loc"][1:]]
        where = f"row {place[0]}, {', '.join(place[1:])}" if len(place) > 1 else "rows"
        lines.append(f"{where}: {item['msg']}")
    more = len(items) - MAX_LISTED_ERRORS
    return "; ".join(lines) + (f" (and {more} more)" if more > 0 else "")


def _content_type(header: str) -> tuple[str, dict[str, str]]:
    """`text/csv; charset=utf-8` -> `("text/csv", {"charset": "utf-8"})`."""
    parts = [part.strip() for part in header.split(";")]
    parameters = dict(part.partition("=")[::2] for part in parts[1:] if part)
    return parts[0].lower(), {key.lower(): value.lower() for key, value in parameters.items()}


def invocations_router(body_model: type[BaseModel], predict: Predict) -> APIRouter:
    """The /invocations route: rows converted to `body_model` (/predict's body), then `predict`.

    `predict(body, request)` is /predict's own handler: it scores, logs and answers
    `{"predictions": [{"prediction": ...}, ...], ...}`, which is reduced to MLflow's answer.
    """
    router = APIRouter()

    @router.post("/invocations", include_in_schema=False)
    async def invocations(request: Request) -> Response:
        """Score rows sent as to `mlflow models serve` (dataframe_split, dataframe_records, ...)."""
        mime, parameters = _content_type(request.headers.get("content-type", ""))
        if mime not in CONTENT_TYPES or set(parameters) - {"charset"}:
            return PlainTextResponse(
                f"This predictor only supports the following content types: "
                f"{', '.join(CONTENT_TYPES)}. Got {_short(request.headers.get('content-type'))}.",
                status_code=415,
            )
        if parameters.get("charset", "utf-8") != "utf-8":
            return PlainTextResponse("The scoring server only supports UTF-8", status_code=415)
        try:
            text = (await request.body()).decode()
            rows = rows_from_csv(text) if mime == "text/csv" else rows_from_json(json.loads(text))
        except BadBody as error:
            return _error("BAD_REQUEST", str(error))
        except (ValueError, RecursionError):  # not UTF-8, not JSON, too deep, a huge integer
            return _error("BAD_REQUEST", f"body: not readable as {mime}; send UTF-8 {mime}")
        try:
            body = body_model.model_validate({"records": [_nan_as_null(row) for row in rows]})
        except ValidationError as error:
            return _error("INVALID_PARAMETER_VALUE", _schema_message(error))
        try:
            answer = await predict(body, request)
        except ScoringError as error:
            return _error("BAD_REQUEST", f"the model could not score these rows: {error}")
        predictions: Sequence[dict[str, Any]] = json.loads(bytes(answer.body))["predictions"]
        return JSONResponse({"predictions": [p["prediction"] for p in predictions]})

    @router.get("/ping", include_in_schema=False)
    @router.get("/health", include_in_schema=False)
    async def ping(request: Request) -> Response:
        """MLflow's health check (its clients wait on /ping): 200 once the model is loaded."""
        loaded = request.app.state.served is not None
        return Response("\n", status_code=200 if loaded else 503, media_type="application/json")

    return router
