import socket

import pytest

from {{ cookiecutter.package_name }}.monitoring.alerts import send
from tests.helpers import Webhook


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


def test_a_webhook_that_is_down_never_raises() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    delivery = send(f"http://127.0.0.1:{port}/hook", "drift!", attempts=2, backoff=0.01)
    assert not delivery.delivered
    assert delivery.attempts == 2
    assert "refused" in delivery.problem.lower()


def test_only_http_urls_are_used() -> None:
    delivery = send("file:///etc/passwd", "drift!", attempts=3, backoff=0.01)
    assert (delivery.delivered, delivery.attempts) == (False, 0)
