import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from typing import Any

import pytest
import urllib3.util.retry

from {{ cookiecutter.package_name }}.monitoring.alerts import send
from tests.helpers import Webhook, free_port


@contextmanager
def scripted_webhook(*answers: tuple[int, dict[str, str]]) -> Iterator[tuple[str, list[float]]]:
    """A webhook on 127.0.0.1 giving these (status, headers) answers in turn, then 200.

    Yields its URL and the time of each request it received.
    """
    times: list[float] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            times.append(time.monotonic())
            status, headers = answers[len(times) - 1] if len(times) <= len(answers) else (200, {})
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            """Keep test output quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/hook", times
    finally:
        server.shutdown()
        server.server_close()


def test_alert_is_retried_until_the_webhook_accepts_it(webhook: Webhook) -> None:
    webhook.failures = 2
    delivery = send(webhook.url, "drift!", attempts=4, backoff=0.01)
    assert delivery.delivered
    assert delivery.attempts == 3
    assert webhook.received == [{"text": "drift!"}]


def test_a_webhook_that_keeps_failing_gives_up_with_a_warning(
    webhook: Webhook, caplog: pytest.LogCaptureFixture
) -> None:
    webhook.failures = 10
    delivery = send(webhook.url, "drift!", attempts=3, backoff=0.01)
    assert not delivery.delivered
    assert (delivery.attempts, delivery.problem) == (3, "HTTP 500")
    assert webhook.requests == 3
    assert "alert not delivered after 3 attempt(s): HTTP 500" in caplog.text


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The waits urllib3's retry asks for, recorded instead of slept."""
    asked: list[float] = []
    clock = SimpleNamespace(sleep=asked.append, time=time.time, monotonic=time.monotonic)
    monkeypatch.setattr(urllib3.util.retry, "time", clock)
    return asked


def test_the_back_off_doubles_after_each_retry(waits: list[float]) -> None:
    with scripted_webhook((503, {}), (503, {})) as (url, times):
        delivery = send(url, "drift!", attempts=3, backoff=0.2)
    assert (delivery.delivered, delivery.attempts) == (True, 3)
    assert len(times) == 3
    assert waits == [0.2, 0.4]


def test_retry_after_is_honoured_instead_of_the_back_off(waits: list[float]) -> None:
    with scripted_webhook((429, {"Retry-After": "7"})) as (url, times):
        delivery = send(url, "drift!", attempts=3, backoff=60)
    assert (delivery.delivered, delivery.attempts, len(times)) == (True, 2, 2)
    assert waits == [7]


def test_a_client_error_is_not_retried(caplog: pytest.LogCaptureFixture) -> None:
    with scripted_webhook((404, {})) as (url, times):
        delivery = send(url, "drift!", attempts=3, backoff=0.01)
    assert (delivery.delivered, delivery.attempts, delivery.problem) == (False, 1, "HTTP 404")
    assert len(times) == 1
    assert "alert not delivered after 1 attempt(s): HTTP 404" in caplog.text


def test_a_webhook_that_is_down_never_raises() -> None:
    url = f"http://127.0.0.1:{free_port()}/hook"  # nothing listens there
    delivery = send(url, "drift!", attempts=2, backoff=0.01)
    assert not delivery.delivered
    assert delivery.attempts == 2
    assert "refused" in delivery.problem.lower()


@pytest.mark.parametrize("url", ["file:///etc/passwd", "http://", "http://[::1"])
def test_only_usable_http_urls_are_used(url: str) -> None:
    delivery = send(url, "drift!", attempts=3, backoff=0.01)
    assert (delivery.delivered, delivery.attempts) == (False, 0)
