"""The service's Prometheus counters, summed over worker processes (multiprocess mode).

With several workers, `serve` points PROMETHEUS_MULTIPROC_DIR at a fresh folder before it starts
them (prometheus_client reads it once, when imported, so only a process started after that can
use it): each worker writes its values there and `/metrics` adds them up. With one worker (and
in tests) the variable is unset and the app's own registry is exposed. Both report the same
series: `_created` samples, which multiprocess mode cannot report, are turned off in both.
"""

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client import multiprocess as prometheus_multiprocess

from ..io.prediction_log import WriteFailure

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
CONTENT_TYPE = CONTENT_TYPE_LATEST
disable_created_metrics()  # type: ignore[no-untyped-call]


class PrometheusMetrics:
    """The service's Prometheus counters, gauge and histogram, in their own registry (one per app).

    (Prometheus calls them all metrics; in this project "metrics" alone means evaluation metrics.)
    """

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "http_requests",
            "HTTP requests answered, by route, method and status.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "http_request_duration_seconds",
            "Time from receiving a request to sending its response.",
            ["route", "method"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "http_requests_in_flight",
            "Requests being handled now.",
            registry=self.registry,
            multiprocess_mode="livesum",
        )
        self.predictions = Counter(
            "predictions",
            "Rows predicted, by model name and version.",
            ["model_name", "model_version"],
            registry=self.registry,
        )
        self.log_write_errors = Counter(
            "prediction_log_write_errors",
            "Writes of the prediction log that failed; each lost the rows it held.",
            registry=self.registry,
        )
        self.log_dropped_rows = Counter(
            "prediction_log_dropped_rows",
            "Predicted rows answered but never written to the prediction log.",
            registry=self.registry,
        )

    def log_write_failed(self, failure: WriteFailure) -> None:
        """Count one failed write of the prediction log (called from its writer thread)."""
        self.log_write_errors.inc()
        self.log_dropped_rows.inc(failure.rows)

    def exposition(self) -> bytes:
        """Their values in Prometheus text format, summed over the worker processes."""
        if os.environ.get(MULTIPROCESS_ENV):
            registry = CollectorRegistry()
            prometheus_multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            return generate_latest(registry)
        return generate_latest(self.registry)


def process_exited() -> None:
    """Drop this process's live gauges (in-flight) from the shared folder at shutdown."""
    if os.environ.get(MULTIPROCESS_ENV):
        prometheus_multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]
