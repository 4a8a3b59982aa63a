"""What a monitoring run found, and how it is told: verdict and exit code, JSON, terminal, alert.

Pure: no I/O. The verdict rules, documented in the README ("Monitoring"):

- fewer rows of the version in the window than `monitoring.min_rows`: no drift is measured, and
  the verdict is `too_few_rows` (exit 4);
- a feature drifted when its method's score crosses its threshold (Evidently's test for that
  method); a feature with no value at all in the window counts as drifted;
- the window drifted when the share of drifted features is at least `monitoring.drift_share`
  (exit 3); otherwise the verdict is `ok` (exit 0). Prediction drift is measured and reported,
  and does not decide the verdict on its own.

What the job could not use as logged is counted next to the rows: malformed log lines (skipped)
and numbers far outside the reference (clipped before measuring; `drift.clip_range`).
"""

import math
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from ..core.config import MonitoringConfig
from ..core.schema import Kind
from .window import Window

MonitoringVerdict = Literal["ok", "drift", "too_few_rows"]
EXIT_CODES: dict[MonitoringVerdict, int] = {"ok": 0, "drift": 3, "too_few_rows": 4}


@dataclass(frozen=True)
class DriftCheck:
    """One column's drift: the method, its score against the threshold, and the outcome.

    `score` is None when the window had no value in the column (counted as drifted).
    """

    column: str
    kind: Kind
    method: str
    score: float | None
    threshold: float
    drifted: bool


@dataclass(frozen=True)
class DriftResult:
    """Every feature's check and the prediction's, and per column the analysed values clipped."""

    columns: list[DriftCheck]
    prediction: DriftCheck
    clipped: dict[str, int] = field(default_factory=dict)

    @property
    def drifted(self) -> list[str]:
        """Names of the drifted features."""
        return [check.column for check in self.columns if check.drifted]

    @property
    def share(self) -> float:
        """The share of features that drifted."""
        return len(self.drifted) / len(self.columns)


@dataclass(frozen=True)
class QualityCheck:
    """One metric on the labelled rows of the window, next to the version's training value."""

    metric: str
    training: float | None
    live: float | None

    @property
    def change(self) -> float | None:
        """Live minus training, when both exist."""
        if self.training is None or self.live is None:
            return None
        return self.live - self.training


@dataclass(frozen=True)
class Quality:
    """Live model quality, or why there is none (`note`)."""

    labelled_rows: int
    checks: list[QualityCheck] = field(default_factory=list)
    note: str = ""


@dataclass(frozen=True)
class Summary:
    """Everything one monitoring run found about one version in one window."""

    requested: str
    model_uri: str
    model_run_id: str
    window: Window
    rows: int
    analysed: int
    malformed: int
    other_versions: dict[str, int]
    reference_rows: int
    monitoring: MonitoringConfig
    drift: DriftResult | None
    quality: Quality
    report: Path | None
    created: datetime

    @property
    def verdict(self) -> MonitoringVerdict:
        """`too_few_rows`, `drift` or `ok`; see the module's rules."""
        if self.drift is None:
            return "too_few_rows"
        return "drift" if self.drift.share >= self.monitoring.drift_share else "ok"

    @property
    def clipped(self) -> dict[str, int]:
        """Per column, the analysed values clipped to the reference's range (none unmeasured)."""
        return {} if self.drift is None else self.drift.clipped

    @property
    def exit_code(self) -> int:
        """The process exit code for the verdict: 0 ok, 3 drift, 4 too few rows."""
        return EXIT_CODES[self.verdict]

    def to_json(self) -> dict[str, Any]:
        """The machine-readable summary (`summary.json`)."""
        drift = self.drift
        return {
            "verdict": self.verdict,
            "exit_code": self.exit_code,
            "created": self.created.isoformat(),
            "model": {
                "requested": self.requested,
                "uri": self.model_uri,
                "run_id": self.model_run_id,
            },
            "window": {"start": self.window.start.isoformat(), "end": self.window.end.isoformat()},
            "rows": {
                "window": self.rows,
                "analysed": self.analysed,
                "sampled": self.analysed < self.rows,
                "malformed_lines": self.malformed,
                "clipped_values": self.clipped,
                "other_versions": self.other_versions,
                "reference": self.reference_rows,
                "min_rows": self.monitoring.min_rows,
            },
            "drift": None
            if drift is None
            else {
                "share_drifted": drift.share,
                "drift_share_threshold": self.monitoring.drift_share,
                "drifted_columns": drift.drifted,
                "detected": self.verdict == "drift",
                "columns": [_check_json(check) for check in drift.columns],
                "prediction": _check_json(drift.prediction),
            },
            "quality": {
                "labelled_rows": self.quality.labelled_rows,
                "note": self.quality.note,
                "metrics": [
                    {
                        "metric": check.metric,
                        "training": _number(check.training),
                        "live": _number(check.live),
                        "change": _number(check.change),
                    }
                    for check in self.quality.checks
                ],
            },
            "settings": self.monitoring.model_dump(mode="json"),
            "report": None if self.report is None else self.report.name,
        }

    def metrics(self) -> dict[str, float]:
        """Numbers for the registry's monitoring run, so drift history can be queried."""
        values: dict[str, float | None] = {
            "rows": self.rows,
            "analysed_rows": self.analysed,
            "malformed_lines": self.malformed,
            "clipped_values": sum(self.clipped.values()),
            "other_version_rows": sum(self.other_versions.values()),
        }
        if self.drift is not None:
            values["share_drifted"] = self.drift.share
            values["drifted_columns"] = len(self.drift.drifted)
            values |= {f"drift.{c.column}": c.score for c in self.drift.columns}
            values["prediction_drift"] = self.drift.prediction.score
        values |= {f"live.{check.metric}": check.live for check in self.quality.checks}
        return {
            name: float(value)
            for name, value in values.items()
            if value is not None and math.isfinite(value)
        }


def _number(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _check_json(check: DriftCheck) -> dict[str, Any]:
    return {
        "column": check.column,
        "kind": check.kind,
        "method": check.method,
        "score": _number(check.score),
        "threshold": check.threshold,
        "drifted": check.drifted,
    }


def _score(value: float | None) -> str:
    return "no data" if value is None else f"{value:.3f}"


def _rows_line(summary: Summary) -> str:
    parts = [f"rows: {summary.rows:,} of this version"]
    if summary.analysed < summary.rows:
        parts.append(f"analysed: a seeded sample of {summary.analysed:,}")
    parts.append(f"{summary.malformed:,} malformed log line(s) skipped")
    if summary.clipped:
        counts = ", ".join(f"{name}: {n:,}" for name, n in summary.clipped.items())
        parts.append(
            f"{sum(summary.clipped.values()):,} value(s) far outside the reference clipped "
            f"({counts})"
        )
    if summary.other_versions:
        others = ", ".join(f"{key}: {n:,}" for key, n in summary.other_versions.items())
        parts.append(f"rows of other versions ignored ({others})")
    return "; ".join(parts)


def _quality_lines(quality: Quality) -> list[str]:
    if not quality.checks:
        return [f"live quality: {quality.note}"]
    lines = [f"live quality on {quality.labelled_rows:,} labelled rows (training -> live):"]
    for check in quality.checks:
        change = "" if check.change is None else f"  ({check.change:+.4f})"
        lines.append(
            f"  {check.metric:<18} {_score(check.training):>8} -> {_score(check.live):>8}{change}"
        )
    return lines


def terminal(summary: Summary) -> str:
    """The one-screen summary printed by the `monitor` command."""
    window = summary.window
    lines = [
        f"monitoring {summary.model_uri} (requested {summary.requested})",
        f"window: {window.start.isoformat()} to {window.end.isoformat()}",
        _rows_line(summary),
    ]
    drift = summary.drift
    if drift is None:
        lines.append(
            f"too few rows to judge drift: {summary.rows:,} < monitoring.min_rows "
            f"{summary.monitoring.min_rows:,}"
        )
    else:
        lines.append(f"{'column':<24} {'kind':<12} {'method':<16} {'score':>8} {'threshold':>9}")
        for check in [*drift.columns, drift.prediction]:
            name = check.column if check in drift.columns else f"prediction:{check.column}"
            flag = "  DRIFT" if check.drifted else ""
            lines.append(
                f"{name:<24} {check.kind:<12} {check.method:<16} {_score(check.score):>8} "
                f"{check.threshold:>9.3f}{flag}"
            )
        lines.append(
            f"drifted features: {len(drift.drifted)} of {len(drift.columns)} "
            f"({drift.share:.0%}); threshold {summary.monitoring.drift_share:.0%}"
        )
    lines += _quality_lines(summary.quality)
    if summary.report is not None:
        lines.append(f"report: {summary.report}")
    lines.append(f"verdict: {summary.verdict} (exit {summary.exit_code})")
    return "\n".join(lines)


def alert_text(summary: Summary, drift: DriftResult) -> str:
    """The alert's message (Slack-compatible text) for a window that drifted."""
    drifted = ", ".join(
        f"{c.column} ({c.method} {_score(c.score)})" for c in drift.columns if c.drifted
    )
    prediction = drift.prediction
    return (
        f"Drift detected for {summary.model_uri}: {len(drift.drifted)} of {len(drift.columns)} "
        f"features drifted ({drift.share:.0%}, threshold {summary.monitoring.drift_share:.0%}): "
        f"{drifted}. Prediction ({prediction.column}): {prediction.method} "
        f"{_score(prediction.score)}{', drifted' if prediction.drifted else ''}. "
        f"Window {summary.window.start.isoformat()} to {summary.window.end.isoformat()}, "
        f"{summary.rows:,} rows. Report: {summary.report}"
    )
