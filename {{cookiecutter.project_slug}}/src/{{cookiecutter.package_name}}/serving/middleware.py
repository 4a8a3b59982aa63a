"""ASGI middleware: request id, Prometheus counters, API key, model headers, body size limit.

Hand-written as plain ASGI classes rather than Starlette's `BaseHTTPMiddleware` or an
instrumentation library because they add no task or body copy per request (they sit on every
request's path), and answer with the app's JSON errors (Starlette's own body limit answers plain
text).
"""

import hmac
import re
import time
import uuid
from collections.abc import Callable

from fastapi.security.utils import get_authorization_scheme_param
from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .prometheus import PrometheusMetrics

HEALTH_PATHS = frozenset({"/livez", "/readyz"})
DOCS_PATHS = frozenset({"/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"})
DOCS_ASSETS = "/static-offline-docs"
UNAUTHORIZED = "missing or wrong API key: send X-API-Key: <key> or Authorization: Bearer <key>"
_CLIENT_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def is_public(path: str) -> bool:
    """Health checks and the API docs: answered without the API key and without model headers."""
    return path in HEALTH_PATHS or path in DOCS_PATHS or path.startswith(f"{DOCS_ASSETS}/")


def request_ids(given: str) -> tuple[str, str]:
    """`(unique id, id to echo)` for a request whose `X-Request-ID` header is `given`.

    The unique id keys the request's rows in the prediction log and is returned as `request_id`:
    `<given>.<server uuid>` for a plain client id (letters, digits, `.`, `_`, `-`; at most 64),
    else a server uuid. The client's own id is echoed in `X-Request-ID` for tracing, so a client
    that reuses one never makes two requests share a log key.
    """
    server = uuid.uuid4().hex
    if _CLIENT_REQUEST_ID.match(given):
        return f"{given}.{server}", given
    return server, server


class Telemetry:
    """Give each request a unique id (`scope["state"]["request_id"]`), echo it, and count it."""

    def __init__(self, app: ASGIApp, prometheus: PrometheusMetrics) -> None:
        self.app = app
        self.prometheus = prometheus

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI call."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id, echoed = request_ids(Headers(scope=scope).get("x-request-id", ""))
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)["x-request-id"] = echoed
            await send(message)

        self.prometheus.in_flight.inc()
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            self.prometheus.in_flight.dec()
            route = getattr(scope.get("route"), "path", "unmatched")
            method = scope["method"]
            self.prometheus.requests.labels(route, method, str(status)).inc()
            self.prometheus.latency.labels(route, method).observe(time.perf_counter() - started)


class ModelHeaders:
    """Add the served model's identity headers to every response but the public paths'.

    Placed inside `ApiKeyAuth`, so a refused request (401) never learns which model is served.
    """

    def __init__(
        self, app: ASGIApp, model_headers: Callable[[], list[tuple[bytes, bytes]]]
    ) -> None:
        self.app = app
        self.model_headers = model_headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI call."""
        if scope["type"] != "http" or is_public(scope["path"]):
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).raw.extend(self.model_headers())
            await send(message)

        await self.app(scope, receive, send_with_headers)


class ApiKeyAuth:
    """Require the API key everywhere but the public paths (health checks, API docs).

    Accepted as `X-API-Key: <key>` or `Authorization: Bearer <key>` (the scheme in any case);
    compared in constant time.
    """

    def __init__(self, app: ASGIApp, api_key: str) -> None:
        self.app = app
        self.expected = api_key.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI call."""
        if scope["type"] != "http" or is_public(scope["path"]):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        scheme, token = get_authorization_scheme_param(headers.get("authorization"))
        given = [headers.get("x-api-key", ""), token if scheme.lower() == "bearer" else ""]
        if any(hmac.compare_digest(key.encode(), self.expected) for key in given if key):
            await self.app(scope, receive, send)
            return
        response = JSONResponse(
            {"detail": UNAUTHORIZED},
            status_code=401,
            headers={"WWW-Authenticate": "Bearer"},
        )
        await response(scope, receive, send)


class BodyTooLarge(HTTPException):
    """Raised while reading a body that grows past the limit; answered as a 413."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, too_large(max_bytes))


class BodyLimit:
    """Refuse bodies above the limit: by Content-Length before reading, else while reading."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI call."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            response = JSONResponse({"detail": too_large(self.max_bytes)}, status_code=413)
            await response(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise BodyTooLarge(self.max_bytes)
            return message

        await self.app(scope, counted, send)


def too_large(max_bytes: int) -> str:
    """The message for a body above the limit."""
    return f"request body larger than MAX_BODY_BYTES ({max_bytes} bytes); send fewer records"
