"""ASGI middleware: request id and model headers, Prometheus counters, API key, body size limit.

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

from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .prometheus import PrometheusMetrics

OPEN_PATHS = frozenset({"/livez", "/readyz"})
_CLIENT_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class Telemetry:
    """Give each request an id, add it and the model's headers to the response, and count it."""

    def __init__(
        self,
        app: ASGIApp,
        prometheus: PrometheusMetrics,
        model_headers: Callable[[], list[tuple[bytes, bytes]]],
    ) -> None:
        self.app = app
        self.prometheus = prometheus
        self.model_headers = model_headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI call."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = Headers(scope=scope).get("x-request-id", "")
        request_id = given if _CLIENT_REQUEST_ID.match(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = MutableHeaders(scope=message)
                headers["x-request-id"] = request_id
                for name, value in self.model_headers():
                    headers.raw.append((name, value))
            await send(message)

        self.prometheus.in_flight.inc()
        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            self.prometheus.in_flight.dec()
            route = getattr(scope.get("route"), "path", "unmatched")
            method = scope["method"]
            self.prometheus.requests.labels(route, method, str(status)).inc()
            self.prometheus.latency.labels(route, method).observe(time.perf_counter() - started)


class ApiKeyAuth:
    """Require the API key (X-API-Key or Authorization: Bearer) everywhere but the health checks."""

    def __init__(self, app: ASGIApp, api_key: str) -> None:
        self.app = app
        self.expected = api_key.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI call."""
        if scope["type"] != "http" or scope["path"] in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        given = headers.get("x-api-key") or headers.get("authorization", "").removeprefix("Bearer ")
        if hmac.compare_digest(given.encode(), self.expected):
            await self.app(scope, receive, send)
            return
        response = JSONResponse(
            {"detail": "missing or wrong API key: send it in the X-API-Key header"},
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
