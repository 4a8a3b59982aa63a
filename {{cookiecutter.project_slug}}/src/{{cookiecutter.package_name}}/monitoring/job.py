"""Monitoring step: one version's prediction log in a window vs its reference -> verdict, outputs.

Resolves the model (an alias becomes a concrete version), fetches the reference sample stored
with that version, reads the window of the prediction log, measures drift (Evidently), reports
live quality when labels exist, then writes `report.html` and `summary.json` to a dated folder,
logs a monitoring run to the registry, and sends an alert when drift is detected.

The job's time goes mostly to importing libraries and reading the log, so these overlap: the
Evidently worker (`evidently_worker`) imports Evidently in its own process, the log is read in a
background thread (DuckDB works without the GIL), and this thread imports MLflow and asks the
registry.
"""

import atexit
import gc
import json
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from ..core import progress
from ..core.config import ProjectConfig
from ..core.errors import UserError
from ..core.metrics import evaluate_defined
from ..core.model_uri import alias_uri
from ..core.schema import feature_names, schema
from . import alerts, evidently_worker
from .drift import measure
from .log_reader import read_labels, read_log
from .summary import Quality, QualityCheck, Summary, alert_text, terminal
from .window import Window, whole_second_after, window

REPORT_FILE = "report.html"
SUMMARY_FILE = "summary.json"


@contextmanager
def _paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector in a short job that mostly creates long-lived objects.

    Importing MLflow and reading the log create millions of objects that live until the job ends;
    full collections would walk them and find almost nothing. On the way out, what the block
    created moves straight to the oldest generation (freeze, then unfreeze), so that turning the
    collector back on does not start a collection over all of it at once.
    """
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.unfreeze()
        gc.enable()


@dataclass(frozen=True)
class Outcome:
    """A finished monitoring run: the summary, where it went, and the alert's fate."""

    summary: Summary
    folder: Path
    run_id: str
    alert: alerts.Delivery | None

    @property
    def text(self) -> str:
        """The terminal summary, with where to find the outputs."""
        lines = [terminal(self.summary), f"summary: {self.folder / SUMMARY_FILE}"]
        lines.append(f"registry: monitoring run {self.run_id}")
        if self.alert is not None:
            state = (
                f"sent ({self.alert.attempts} attempt(s))"
                if self.alert.delivered
                else f"NOT delivered: {self.alert.problem}"
            )
            lines.append(f"alert: {state}")
        return "\n".join(lines)


def score_column(config: ProjectConfig) -> str:
    """The logged column whose drift is the prediction drift: the probability when classifying."""
    return "probability" if config.problem_type == "classification" else "prediction"


def check_reference(reference: pd.DataFrame, uri: str, columns: list[str]) -> None:
    """A reference must have every monitored column, each with values."""
    missing = [name for name in columns if name not in reference.columns]
    if missing:
        raise UserError(
            f"the reference sample of {uri} lacks column(s) {', '.join(missing)} that schema.py "
            "defines; train a new version so that its reference matches the schema"
        )
    empty = [name for name in columns if reference[name].isna().all()]
    if empty:
        raise UserError(
            f"the reference sample of {uri} has no values in {', '.join(empty)}; "
            "train a new version"
        )


def live_quality(
    frame: pd.DataFrame, labels_path: Path, config: ProjectConfig, training: dict[str, float]
) -> Quality:
    """The config's metrics on the window's labelled rows, next to the version's test metrics."""
    if not labels_path.is_file():
        return Quality(
            labelled_rows=0,
            note=f"no labels yet ({labels_path} not found); reported once labels arrive",
        )
    labels = read_labels(labels_path, schema())
    joined = frame.merge(labels, on=["request_id", "row"], how="inner")
    if joined.empty:
        return Quality(labelled_rows=0, note=f"no label in {labels_path} for this window's rows")
    classify = config.problem_type == "classification"
    live = evaluate_defined(
        config.problem_type,
        config.metrics,
        joined["label"].to_numpy(dtype=np.float64),
        joined["prediction"].to_numpy(dtype=np.float64),
        joined["probability"].to_numpy(dtype=np.float64) if classify else None,
    )
    return Quality(
        labelled_rows=len(joined),
        checks=[QualityCheck(name, training.get(name), live[name]) for name in config.metrics],
    )


def _alert(summary: Summary) -> alerts.Delivery | None:
    """Send the drift alert, if drift was detected; say so when no webhook is configured."""
    if summary.drift is None or summary.verdict != "drift":
        return None
    url = os.environ.get(alerts.WEBHOOK_ENV, "")
    if not url:
        return alerts.Delivery(False, 0, f"{alerts.WEBHOOK_ENV} is not set")
    return alerts.send(
        url,
        alert_text(summary, summary.drift),
        attempts=summary.monitoring.alert_attempts,
        backoff=summary.monitoring.alert_backoff_seconds,
    )


def run(
    config_path: Path,
    model: str | None,
    *,
    since: str | None = None,
    start: str | None = None,
    end: str | None = None,
    labels: Path | None = None,
) -> Outcome:
    """The `monitor` command: read the config, build the window (ending now by default), monitor.

    Made for a process that ends with the job, as the CLI's does:
    - the Evidently worker starts first, so that Evidently's import overlaps everything else;
    - the cyclic garbage collector is paused while the job runs (see `_paused_gc`);
    - at interpreter exit, the objects still alive are frozen, so that the interpreter's last
      collections skip the millions that the job's imports created and the process ends when
      the job does. A process that goes on (a test session) collects as usual until it exits.
    """
    evidently_worker.start()
    atexit.unregister(gc.freeze)  # once, however many jobs the process runs
    atexit.register(gc.freeze)
    with _paused_gc():
        from ..core.config import load_config

        now = whole_second_after(datetime.now(UTC))
        config = load_config(config_path)
        return monitor(config, model, window(since, start, end, now), labels, now)


def monitor(
    config: ProjectConfig, model: str | None, window: Window, labels: Path | None, now: datetime
) -> Outcome:
    """Check one version's logged predictions in `window` for drift; write, log and alert."""
    monitoring = config.monitoring
    score = score_column(config)
    with ThreadPoolExecutor(max_workers=1) as pool:
        # The read covers every version, so it need not wait for the registry: DuckDB reads
        # (without the GIL) while this thread imports MLflow and asks the registry.
        reading = pool.submit(
            read_log,
            monitoring.log_dir,
            start=window.start,
            end=window.end,
            sample_above=monitoring.sample_above,
            sample_rows=monitoring.sample_rows,
            seed=monitoring.seed,
        )
        from ..io import registry

        requested = model or alias_uri(config.registry.model_name, registry.CHAMPION)
        if (
            model is None
            and registry.alias_version(config.registry.model_name, registry.CHAMPION) is None
        ):
            name = config.registry.model_name
            raise UserError(
                f"no champion yet for {name}: run `make promote MODEL=models:/{name}/<version>` "
                f"(the version `make train` printed) or pass MODEL=models:/{name}/<version>"
            )
        version = registry.resolve_version(requested)
        reference = registry.load_reference(version)
        check_reference(reference, version.uri, [*feature_names(), score])
        with progress.step("monitor: read the log"):
            log = reading.result().window(version.name, version.version)
    folder = monitoring.output_dir / f"{now:%Y%m%dT%H%M%SZ}-{version.name}-v{version.version}"
    folder.mkdir(parents=True, exist_ok=True)
    report: Path | None = None
    drift = None
    if log.rows >= monitoring.min_rows:
        with progress.step("monitor: drift report"):
            drift = measure(
                reference,
                log.frame,
                monitoring,
                score,
                folder / REPORT_FILE,
                evidently_worker.measure,
            )
        report = folder / REPORT_FILE if (folder / REPORT_FILE).is_file() else None
    summary = Summary(
        requested=requested,
        model_uri=version.uri,
        model_run_id=version.run_id,
        window=window,
        rows=log.rows,
        analysed=len(log.frame),
        malformed=log.malformed,
        other_versions=log.other_versions,
        reference_rows=len(reference),
        monitoring=monitoring,
        drift=drift,
        quality=live_quality(
            log.frame,
            labels or monitoring.labels_path,
            config,
            registry.run_metrics(version.run_id),
        ),
        report=report,
        created=now,
    )
    (folder / SUMMARY_FILE).write_text(json.dumps(summary.to_json(), indent=2) + "\n")
    run_id = registry.log_monitoring_run(
        registry.MonitoringRecord(
            experiment=f"{config.registry.experiment}-monitoring",
            run_name=f"monitor v{version.version} {now:%Y-%m-%d %H:%M}",
            version=version,
            tags={
                "verdict": summary.verdict,
                "requested_model": requested,
                "window_start": window.start.isoformat(),
                "window_end": window.end.isoformat(),
            },
            metrics=summary.metrics(),
            artifacts=[folder / SUMMARY_FILE, *([report] if report else [])],
        )
    )
    return Outcome(summary=summary, folder=folder, run_id=run_id, alert=_alert(summary))
