"""Drift between a version's reference sample and a window of its logged predictions.

This module decides what to measure and reads the outcome; Evidently measures it
(`evidently_report`, run in the worker process of `evidently_worker`), so neither the service nor
the job's own process imports Evidently. Columns and their kinds come from schema.py (an explicit
DataDefinition, no type inference); each column's method and threshold come from the config,
never from Evidently's defaults, which change with the reference's size.
"""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..core.config import MonitoringConfig
from ..core.schema import Kind, schema
from .summary import DriftCheck, DriftResult

EMPTY = "no values"
# Each measured column's Evidently score and whether its test failed (the column drifted).
DriftScores = dict[str, tuple[float, bool]]


@dataclass(frozen=True)
class Rule:
    """How one column is measured: its kind, Evidently method and threshold."""

    kind: Kind
    method: str
    threshold: float


@dataclass(frozen=True)
class DriftRequest:
    """One Evidently report: both samples, the features' rules, the score column's, the HTML."""

    reference: pd.DataFrame
    current: pd.DataFrame
    features: dict[str, Rule]
    score: tuple[str, Rule] | None
    drift_share: float
    report_path: Path


def column_rule(monitoring: MonitoringConfig, column: str, kind: Kind) -> tuple[str, float]:
    """The method and threshold for one feature: its override, else its kind's default."""
    rule = monitoring.columns.get(column) or (
        monitoring.numeric if kind == "numeric" else monitoring.categorical
    )
    return rule.method, rule.threshold


def measure(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    monitoring: MonitoringConfig,
    score_column: str,
    report_path: Path,
    run_report: Callable[[DriftRequest], DriftScores],
) -> DriftResult:
    """Measure every column's drift with `run_report` (which also saves the HTML report).

    Columns without any value in `current` are not measured, and count as drifted.
    """
    rules = {
        c.name: Rule(c.kind, *column_rule(monitoring, c.name, c.kind)) for c in schema().features
    }
    prediction = monitoring.prediction
    rules[score_column] = Rule("numeric", prediction.method, prediction.threshold)
    empty = {name for name in rules if current[name].isna().all()}
    measured = [name for name in rules if name not in empty]
    scores: DriftScores = {}
    if measured:
        scores = run_report(
            DriftRequest(
                reference=reference[measured],
                current=current[measured],
                features={name: rules[name] for name in measured if name != score_column},
                score=(score_column, rules[score_column]) if score_column in measured else None,
                drift_share=monitoring.drift_share,
                report_path=report_path,
            )
        )
    checks = {
        name: DriftCheck(
            column=name,
            kind=rule.kind,
            method=EMPTY if name in empty else rule.method,
            score=None if name in empty else scores[name][0],
            threshold=rule.threshold,
            drifted=name in empty or scores[name][1],
        )
        for name, rule in rules.items()
    }
    return DriftResult(
        columns=[checks[c.name] for c in schema().features], prediction=checks[score_column]
    )
