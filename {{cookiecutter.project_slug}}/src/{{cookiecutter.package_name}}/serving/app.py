"""The FastAPI app: the model is loaded once in the lifespan; `/predict` never blocks the loop.

Endpoints: POST /predict, GET /livez, GET /readyz, GET /model, GET /metrics, and the OpenAPI
docs at /docs and /redoc, served from local files (no CDN); MLflow's routes in invocations.py.
"""

import gc
import json
import sys
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi_offline import FastAPIOffline
from pydantic import BaseModel
from pydantic_core import to_json
from starlette.exceptions import HTTPException

from ..core.errors import UserError
from ..io import exported_model
from ..io.json_text import fill_rows, json_values
from ..io.prediction_log import FeatureRows, LoggedRequest, PredictionLogWriter
from . import fastpath
from .body import ColumnsReader, by_name, first_try, is_json, records_by_column
from .invocations import invocations_router
from .middleware import DOCS_ASSETS, HEALTH_PATHS, ApiKeyAuth, BodyLimit, ModelHeaders, Telemetry
from .payloads import (
    BODY_SHAPES,
    Health,
    Inference,
    ModelDescription,
    PredictResponse,
    Problem,
    records_request_model,
    request_model,
)
from .prometheus import CONTENT_TYPE, PrometheusMetrics, process_exited
from .runner import Columns, ModelRunner, Predictions, ScoringError
from .settings import ServiceSettings

MAX_LISTED_ERRORS = 3


@dataclass(frozen=True)
class Served:
    """The loaded model and what serves it: present once start-up is complete."""

    info: exported_model.ModelInfo
    runner: ModelRunner
    log: PredictionLogWriter
    labels: list[str] | None
    inference: Inference
    prometheus: PrometheusMetrics

    @property
    def headers(self) -> list[tuple[bytes, bytes]]:
        """The concrete model's identity, sent with every response but the public paths'."""
        return [
            (b"x-model-name", self.info.name.encode()),
            (b"x-model-version", self.info.version.encode()),
            (b"x-model-run-id", self.info.run_id.encode()),
            (b"x-model-training-fingerprint", self.info.training_fingerprint.encode()),
        ]


def _where(location: Sequence[int | str]) -> str:
    """`("body", "records", 0, "age")` -> `records[0].age`; `records[0]["monthly spend"]`."""
    text = ""
    for part in location[1:] if location and location[0] == "body" else location:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part.isidentifier():
            text += f".{part}"
        else:
            text += f"[{json.dumps(part, ensure_ascii=False)}]"
    return text.lstrip(".") or "body"


def _location(location: Sequence[int | str]) -> list[int | str]:
    """An error's location without the body shape's tag that pydantic puts after `body`."""
    parts = list(location)
    if len(parts) > 1 and parts[0] == "body" and parts[1] in BODY_SHAPES:
        del parts[1]
    return parts


def _validation_problem(error: RequestValidationError) -> Problem:
    items = [
        {
            "loc": list(item["loc"]) if item["type"] == "json_invalid" else _location(item["loc"]),
            "msg": item["msg"],
            "type": item["type"],
        }
        for item in error.errors()
    ]
    lines = []
    for item in items[:MAX_LISTED_ERRORS]:
        if item["type"] == "json_invalid":
            lines.append(f"body: invalid JSON at character {item['loc'][-1]}")
        else:
            lines.append(f"{_where(item['loc'])}: {item['msg']}")
    more = len(items) - MAX_LISTED_ERRORS
    detail = "; ".join(lines) + (f" (and {more} more)" if more > 0 else "")
    return Problem(detail=detail, errors=items)


def _unreadable_body(cause: BaseException | None) -> str:
    """The one line for a body that is not JSON at all (FastAPI answers it with a 400)."""
    if isinstance(cause, UnicodeDecodeError):
        return f"body: not {cause.encoding} text (byte {cause.start}); send JSON encoded as UTF-8"
    if isinstance(cause, RecursionError):
        return 'body: JSON nested too deeply; send {"records": [{<feature>: value, ...}, ...]}'
    if isinstance(cause, ValueError) and "integer string conversion" in str(cause):
        limit = sys.get_int_max_str_digits()
        return f"body: an integer has more than {limit} digits; send numbers of ordinary size"
    return "body: not readable as JSON; send a JSON object encoded as UTF-8"


def require_api_key(openapi: dict[str, Any]) -> dict[str, Any]:
    """Declare the API key in the OpenAPI document: /docs gets its "Authorize" button.

    Every operation but the health checks needs the key (`X-API-Key` or Bearer) and may answer
    401. Changes `openapi` in place (idempotent) and returns it.
    """
    openapi.setdefault("components", {})["securitySchemes"] = {
        "ApiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
        "Bearer": {"type": "http", "scheme": "bearer"},
    }
    problem = {"schema": {"$ref": "#/components/schemas/Problem"}}
    unauthorized = {
        "description": "Missing or wrong API key",
        "content": {"application/json": problem},
    }
    for path, operations in openapi["paths"].items():
        if path in HEALTH_PATHS:
            continue
        for operation in operations.values():
            operation["security"] = [{"ApiKey": []}, {"Bearer": []}]
            operation["responses"]["401"] = unauthorized
    return openapi


def served(request: Request) -> Served:
    """The loaded model; HTTPException 503 while it is not loaded."""
    current: Served | None = request.app.state.served
    if current is None:
        raise HTTPException(503, "the model is not loaded yet; retry when /readyz says ready")
    return current


def freeze_startup_objects() -> None:
    """Exempt everything alive after start-up from garbage collection.

    The libraries and the model are hundreds of thousands of long-lived objects. Left in the
    collector's oldest generation, each full collection would walk all of them and pause every
    request in flight, which shows in the tail latency under load. Frozen, they are never
    scanned; objects made while serving are collected as usual. No collection runs first: the
    few unreachable objects start-up leaves are not worth the time it would add to start-up.
    """
    gc.freeze()


def create_app(settings: ServiceSettings, loaded: exported_model.Bundle | None = None) -> FastAPI:
    """Build the app for these settings; the model (unless `loaded`) is read at start-up."""
    prometheus = PrometheusMetrics()
    Body = request_model(settings.max_batch_rows)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.model_dir is None:
            raise UserError("no model folder: `serve` exports the model and sets MODEL_DIR")
        info, model = loaded or exported_model.read_bundle(settings.model_dir)
        choice = fastpath.choose(model, exported_model.read_reference(settings.model_dir))
        log = PredictionLogWriter(
            settings.prediction_log_dir,
            settings.prediction_log_max_bytes,
            on_failure=prometheus.log_write_failed,
        )
        log.start()
        runner = ModelRunner(choice.scorer, settings.max_batch_rows)
        runner.start()
        labels = [str(label) for label in model.classes_] if hasattr(model, "classes_") else None
        inference = Inference(path=choice.path, reason=choice.reason)
        app.state.served = Served(info, runner, log, labels, inference, prometheus)
        freeze_startup_objects()
        try:
            yield
        finally:
            app.state.served = None
            runner.close()
            log.close()
            process_exited()

    app = FastAPIOffline(
        title="{{ cookiecutter.project_slug }} prediction service",
        description="Serves one pinned model version; every prediction is logged.",
        version="1",
        lifespan=lifespan,
        static_url=DOCS_ASSETS,
        responses={413: {"model": Problem}},
    )
    app.state.served = None
    if settings.api_key is not None:
        plain_openapi = app.openapi

        def openapi_with_api_key() -> dict[str, Any]:
            return app.openapi_schema or require_api_key(plain_openapi())

        app.openapi = openapi_with_api_key  # type: ignore[method-assign]

    def model_headers() -> list[tuple[bytes, bytes]]:
        current: Served | None = app.state.served
        return current.headers if current is not None else []

    # The last added runs first: id and counters, then the key, then the model's headers.
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(ModelHeaders, model_headers=model_headers)
    if settings.api_key is not None:
        app.add_middleware(ApiKeyAuth, api_key=settings.api_key.get_secret_value())
    app.add_middleware(Telemetry, prometheus=prometheus)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> JSONResponse:
        problem = _validation_problem(error)
        return JSONResponse(problem.model_dump(exclude_none=True), status_code=422)

    @app.exception_handler(HTTPException)
    async def http_problem(request: Request, error: HTTPException) -> JSONResponse:
        unparsed = error.status_code == 400 and error.__cause__ is not None
        detail = _unreadable_body(error.__cause__) if unparsed else str(error.detail)
        return JSONResponse(
            {"detail": detail}, status_code=error.status_code, headers=error.headers
        )

    @app.exception_handler(ScoringError)
    async def unscorable(request: Request, error: ScoringError) -> JSONResponse:
        return JSONResponse({"detail": f"records: {error}"}, status_code=422)

    reader = ColumnsReader(settings.max_batch_rows)

    async def predict_valid_json(request: Request) -> Response | None:
        """A valid JSON body scored without FastAPI's per-record validation (`body.py`)."""
        if not is_json(request.headers.get("content-type")):
            return None
        columns = reader.columns(await request.body())
        if columns is None:
            return None
        return Response(await score_batch(request, columns), media_type="application/json")

    predict_route = APIRouter(route_class=first_try(predict_valid_json))

    @predict_route.post(
        "/predict",
        response_model=PredictResponse,
        responses={
            400: {"model": Problem, "description": "Not JSON: not UTF-8, too deep, huge numbers"},
            422: {"model": Problem, "description": "Invalid records: `detail` names the field"},
            503: {"model": Problem, "description": "The model is not loaded yet"},
        },
    )
    async def predict(body: Body, request: Request) -> Response:  # type: ignore[valid-type]
        """Score a batch: `{"records": [...]}` or `{"columns": {<feature>: [values...]}}`."""
        records: list[BaseModel] | None = getattr(body, "records", None)
        columns = by_name(body.columns) if records is None else records_by_column(records)  # type: ignore[attr-defined]
        return Response(await score_batch(request, columns), media_type="application/json")

    app.include_router(predict_route)

    @app.get("/livez", response_model=Health)
    async def livez() -> Health:
        """The process is up (it may still be loading the model)."""
        return Health(status="alive")

    @app.get("/readyz", response_model=Health, responses={503: {"model": Health}})
    async def readyz(request: Request) -> Response:
        """Ready once the model is loaded and while the prediction log can be written.

        503 before, while shutting down, and while the log cannot be written (the writer
        re-probes its folder every second, so readiness comes back without traffic).
        """
        current: Served | None = request.app.state.served
        if current is None:
            return JSONResponse({"status": "loading"}, status_code=503)
        if current.log.failing:
            return JSONResponse({"status": "prediction log not writable"}, status_code=503)
        return JSONResponse({"status": "ready"})

    @app.get("/model", response_model=ModelDescription, responses={503: {"model": Problem}})
    async def model(request: Request) -> ModelDescription:
        """The served version: name, version, run, fingerprints, signature, training metrics."""
        info = served(request).info
        return ModelDescription(
            name=info.name,
            version=info.version,
            run_id=info.run_id,
            source_uri=info.source_uri,
            problem_type=info.problem_type,
            training_fingerprint=info.training_fingerprint,
            data_fingerprint=info.data_fingerprint,
            config_fingerprint=info.config_fingerprint,
            metrics=info.metrics,
            signature=info.signature,
            inference=served(request).inference,
        )

    @app.get(
        "/model/card",
        response_class=Response,
        responses={
            200: {"content": {"text/markdown": {}}},
            404: {"model": Problem},
            503: {"model": Problem},
        },
    )
    async def model_card(request: Request) -> Response:
        """The served version's model card (Markdown), written when it was trained."""
        served(request)
        card = settings.model_dir / exported_model.CARD_FILE if settings.model_dir else None
        if card is None or not card.is_file():
            raise HTTPException(404, "this version has no model card; versions trained now get one")
        return Response(card.read_text(encoding="utf-8"), media_type="text/markdown")

    @app.get("/metrics", response_class=Response, responses={200: {"content": {CONTENT_TYPE: {}}}})
    async def prometheus_metrics() -> Response:
        """Prometheus: requests, latency, in flight, predictions by model version, log failures."""
        return Response(prometheus.exposition(), media_type=CONTENT_TYPE)

    app.include_router(invocations_router(records_request_model(settings.max_batch_rows), predict))
    return app


async def score_batch(request: Request, columns: Columns) -> bytes:
    """Score validated rows in the app's runner, log and count them; the /predict answer's JSON.

    For any endpoint of an app `create_app` built. `columns`: every schema feature, in the
    schema's order, all of one length (1..MAX_BATCH_ROWS), values as `payloads.columns_model`
    validates them (`records_by_column` turns validated records into this). Raises HTTPException
    503 before the model is loaded, and ScoringError (a 422) when the model cannot score them.
    """
    current = served(request)
    started = time.perf_counter()
    predicted = await current.runner.score(columns)
    latency_ms = (time.perf_counter() - started) * 1000
    request_id: str = request.state.request_id
    info = current.info
    probabilities = predicted.probabilities
    positive = None if probabilities is None else probabilities[:, -1].tolist()
    current.log.write(
        LoggedRequest(
            request_id=request_id,
            timestamp=datetime.now(UTC),
            model_name=info.name,
            model_version=info.version,
            run_id=info.run_id,
            latency_ms=latency_ms,
            features=FeatureRows(columns),
            predictions=predicted.values,
            probabilities=positive,
        )
    )
    current.prometheus.predictions.labels(info.name, info.version).inc(len(predicted.values))
    return answer_json(request_id, info, predicted, current.labels)


def answer_json(
    request_id: str,
    info: exported_model.ModelInfo,
    predicted: Predictions,
    labels: list[str] | None,
) -> bytes:
    """The /predict answer as compact UTF-8 JSON (`PredictResponse`'s shape).

    `{"request_id", "model_name", "model_version", "predictions": [{"prediction": <label or
    value>, "probabilities": {<label>: p, ...} or null}, ...]}`. Built by column, as the
    prediction log's lines are (`io/json_text.py`): each column of the model's answer is encoded
    once and the rows are assembled without Python code per row, instead of a dict per row and
    `json.dumps`. `predicted` is finite (the runner answers nothing else).
    """
    head = to_json(
        {"request_id": request_id, "model_name": info.name, "model_version": info.version}
    )
    columns = [json_values(predicted.values)]
    if predicted.probabilities is not None and labels is not None:
        columns += [json_values(column.tolist()) for column in predicted.probabilities.T]
        names = [to_json(label) for label in labels]
        segments = [
            b'{"prediction":',
            b',"probabilities":{' + names[0] + b":",
            *(b"," + name + b":" for name in names[1:]),
            b"}},",
        ]
    else:
        segments = [b'{"prediction":', b',"probabilities":null},']
    rows = fill_rows(segments, columns)[:-1]  # no comma after the last row
    return head[:-1] + b',"predictions":[' + rows + b"]}"


def app_from_env() -> FastAPI:
    """The app for a worker process started by `serve` (settings from the environment)."""
    return create_app(ServiceSettings.from_env())
