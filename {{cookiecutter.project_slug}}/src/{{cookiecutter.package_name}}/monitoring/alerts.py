"""Alerts: a JSON POST of `{"text": ...}` (Slack-compatible) to a webhook, retried with back-off.

Sending never raises: a webhook that is down, slow or refusing is logged as a warning and the
caller goes on (the monitoring job still exits with its verdict).
"""

import logging
from dataclasses import dataclass
from urllib.parse import urlsplit

import urllib3
from urllib3.util import Retry

WEBHOOK_ENV = "MONITOR_WEBHOOK_URL"
# Statuses worth another try: the webhook asks to slow down, or failed on its side.
RETRIED_STATUSES = frozenset({429, *range(500, 600)})
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Delivery:
    """How an alert went: delivered or not, after how many attempts, and the last problem."""

    delivered: bool
    attempts: int
    problem: str = ""


class WebhookRetry(Retry):
    """urllib3's retry with the config's schedule, and a cap on the webhook's `Retry-After`."""

    def get_backoff_time(self) -> float:
        """`backoff_factor` before the first retry (urllib3 waits 0), doubling after each."""
        if not self.history:
            return 0.0
        return float(min(self.backoff_max, self.backoff_factor * 2 ** (len(self.history) - 1)))

    def get_retry_after(self, response: urllib3.BaseHTTPResponse) -> float | None:
        """The response's `Retry-After` in seconds, at most `backoff_max`."""
        seconds = super().get_retry_after(response)
        return None if seconds is None else min(seconds, self.backoff_max)


def send(url: str, text: str, *, attempts: int, backoff: float, timeout: float = 10.0) -> Delivery:
    """POST the text, retrying with exponential back-off; never raise.

    Connection errors, timeouts, 429 and 5xx are retried after `backoff` seconds, then twice that,
    and so on, or after the response's `Retry-After`; no wait exceeds two minutes. After
    `attempts` tries, or on another status that is not 2xx (a redirect is not followed), it gives
    up with a warning.
    """
    try:
        usable = urlsplit(url).scheme in ("http", "https")
    except ValueError:
        usable = False
    if not usable:
        logger.warning("alert not sent: %s must be an http(s) URL", WEBHOOK_ENV)
        return Delivery(delivered=False, attempts=0, problem="not an http(s) URL")
    retry = WebhookRetry(
        total=attempts - 1,
        status_forcelist=RETRIED_STATUSES,
        allowed_methods=None,  # POST too: an alert sent twice is better than none
        backoff_factor=backoff,
        raise_on_status=False,
    )
    with urllib3.PoolManager(retries=retry, timeout=timeout) as http:
        try:
            response = http.request("POST", url, json={"text": text}, redirect=False)
        except urllib3.exceptions.MaxRetryError as error:  # every attempt used, the last unanswered
            reason = error.reason or error
            return _failed(attempts, str(reason.__cause__ or reason))
        except urllib3.exceptions.LocationValueError as error:  # nothing was sent
            return _failed(0, f"not a valid URL: {error}")
        except urllib3.exceptions.HTTPError as error:  # an error that is not retried
            return _failed(1, str(error))
    tried = 1 + (len(response.retries.history) if response.retries else 0)
    if 200 <= response.status < 300:
        return Delivery(delivered=True, attempts=tried)
    return _failed(tried, f"HTTP {response.status}")


def _failed(attempts: int, problem: str) -> Delivery:
    logger.warning("alert not delivered after %d attempt(s): %s", attempts, problem)
    return Delivery(delivered=False, attempts=attempts, problem=problem)
