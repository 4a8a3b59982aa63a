"""Alerts: a JSON POST of `{"text": ...}` (Slack-compatible) to a webhook, retried with back-off.

Sending never raises: a webhook that is down, slow or refusing is logged as a warning and the
caller goes on (the monitoring job still exits with its verdict).
"""

import json
import logging
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from urllib.parse import urlsplit

WEBHOOK_ENV = "MONITOR_WEBHOOK_URL"
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Delivery:
    """How an alert went: delivered or not, after how many attempts, and the last problem."""

    delivered: bool
    attempts: int
    problem: str = ""


def _post(url: str, body: bytes, timeout: float) -> int:
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return int(response.status)


def send(url: str, text: str, *, attempts: int, backoff: float, timeout: float = 10.0) -> Delivery:
    """POST the text, retrying with exponential back-off; never raise.

    Connection errors, timeouts, 429 and 5xx are retried after `backoff` seconds, then twice that,
    and so on; after `attempts` tries (or another 4xx) it gives up with a warning.
    """
    if urlsplit(url).scheme not in ("http", "https"):
        logger.warning("alert not sent: %s must be an http(s) URL", WEBHOOK_ENV)
        return Delivery(delivered=False, attempts=0, problem="not an http(s) URL")
    body = json.dumps({"text": text}).encode()
    problem = ""
    for attempt in range(1, attempts + 1):
        try:
            _post(url, body, timeout)
            return Delivery(delivered=True, attempts=attempt)
        except urllib.error.HTTPError as error:
            problem = f"HTTP {error.code}"
            if error.code != 429 and error.code < 500:
                break
        except (urllib.error.URLError, OSError) as error:
            problem = str(getattr(error, "reason", error))
        if attempt < attempts:
            time.sleep(backoff * 2 ** (attempt - 1))
    logger.warning("alert not delivered after %d attempt(s): %s", attempt, problem)
    return Delivery(delivered=False, attempts=attempt, problem=problem)
