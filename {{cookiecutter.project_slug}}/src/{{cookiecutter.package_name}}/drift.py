"""Drift between a version's reference sample and a window of its logged predictions (Evidently).

The one module that imports Evidently, and only the monitoring step imports it: the service and
the CLI start without it. Columns and their kinds come from schema.py (an explicit DataDefinition,
no type inference); each column's method and threshold come from the config, never from
Evidently's defaults, which change with the reference's size.
"""

from pathlib import Path
from typing import Any

import pandas as pd
from evidently import DataDefinition, Dataset, Report
from evidently.metrics import ValueDrift
from evidently.presets import DataDriftPreset

from .config import MonitoringConfig
from .monitoring_summary import DriftCheck, DriftResult
from .schema import FEATURE_COLUMNS, Kind

EMPTY = "no values"


def column_rule(settings: MonitoringConfig, column: str, kind: Kind) -> tuple[str, float]:
    """The method and threshold for one feature: its override, else its kind's default."""
    rule = settings.columns.get(column) or (
        settings.numeric if kind == "numeric" else settings.categorical
    )
    return rule.method, rule.threshold


def _dataset(frame: pd.DataFrame, kinds: dict[str, Kind]) -> Dataset:
    definition = DataDefinition(
        numerical_columns=[name for name, kind in kinds.items() if kind == "numeric"],
        categorical_columns=[name for name, kind in kinds.items() if kind == "categorical"],
    )
    return Dataset.from_pandas(frame[list(kinds)], data_definition=definition)


def _failed_tests(snapshot: dict[str, Any]) -> set[str]:
    """Ids of the metrics whose test failed: for a drift metric, the column drifted."""
    return {t["metric_config"]["metric_id"] for t in snapshot["tests"] if t["status"] == "FAIL"}


def _run(
    metrics: list[Any],
    reference: pd.DataFrame,
    current: pd.DataFrame,
    kinds: dict[str, Kind],
    report_path: Path,
) -> dict[str, tuple[float, bool]]:
    """Run the report, save its HTML, and return each column's drift score and outcome."""
    snapshot = Report(metrics, include_tests=True).run(
        _dataset(current, kinds), _dataset(reference, kinds)
    )
    report_path.parent.mkdir(parents=True, exist_ok=True)
    snapshot.save_html(str(report_path))
    results = snapshot.dict()
    failed = _failed_tests(results)
    return {
        metric["config"]["column"]: (float(metric["value"]), metric["id"] in failed)
        for metric in results["metrics"]
        if metric["config"]["type"].endswith(":ValueDrift")
    }


def measure(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    settings: MonitoringConfig,
    score_column: str,
    report_path: Path,
) -> DriftResult:
    """Measure every column's drift and save the report as self-contained HTML.

    Columns without any value in `current` are not measured, and count as drifted.
    """
    rules = {c.name: (c.kind, *column_rule(settings, c.name, c.kind)) for c in FEATURE_COLUMNS}
    rules[score_column] = ("numeric", settings.prediction.method, settings.prediction.threshold)
    empty = {name for name in rules if current[name].isna().all()}
    measured = [name for name in rules if name not in empty]
    features = [name for name in measured if name != score_column]
    metrics: list[Any] = []
    if features:
        metrics.append(
            DataDriftPreset(
                columns=features,
                drift_share=settings.drift_share,
                per_column_method={name: rules[name][1] for name in features},
                per_column_threshold={name: rules[name][2] for name in features},
            )
        )
    if score_column in measured:
        metrics.append(
            ValueDrift(
                column=score_column,
                method=settings.prediction.method,
                threshold=settings.prediction.threshold,
            )
        )
    scores = (
        _run(metrics, reference, current, {name: rules[name][0] for name in measured}, report_path)
        if metrics
        else {}
    )
    checks = {
        name: DriftCheck(
            column=name,
            kind=kind,
            method=EMPTY if name in empty else method,
            score=None if name in empty else scores[name][0],
            threshold=threshold,
            drifted=name in empty or scores[name][1],
        )
        for name, (kind, method, threshold) in rules.items()
    }
    return DriftResult(
        columns=[checks[c.name] for c in FEATURE_COLUMNS], prediction=checks[score_column]
    )
