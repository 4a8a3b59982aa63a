"""Drift between a version's reference sample and a window of its logged predictions.

This module decides what to measure and reads the outcome; Evidently measures it
(`evidently_report`, run in the worker process of `evidently_worker`), so neither the service nor
the job's own process imports Evidently. Columns and their kinds come from schema.py (an explicit
DataDefinition, no type inference); each column's method and threshold come from the config,
never from Evidently's defaults, which change with the reference's size.

Numbers far outside the reference are clipped before Evidently sees them (`clip_range`), and
counted: the service accepts any finite number where the schema gives no range, and Evidently's
histograms fail when a column spans more than a float can hold (e.g. 1e308 and -1e308).
"""

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..core.config import MonitoringConfig
from ..core.schema import Kind, schema
from .summary import DriftCheck, DriftResult

EMPTY = "no values"
# Each measured column's Evidently score and whether its test failed (the column drifted).
DriftScores = dict[str, tuple[float, bool]]
# A logged number beyond the reference's range by more than this many times the range's width is
# clipped to that bound: still far out (against 600 normal reference rows, one such row in a
# thousand moves the normed Wasserstein distance from 0.04 to 0.15), but finite, and the
# reference's histogram stays readable in the report.
CLIP_WIDTHS = 10.0
# No bound lies beyond this magnitude, so that the span of any clipped column stays finite.
LARGEST = sys.float_info.max / 4


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


def clip_range(reference: pd.Series) -> tuple[float, float]:
    """The bounds a numeric column's logged values are clipped to (see CLIP_WIDTHS, LARGEST).

    The reference's finite values' range, widened on each side by CLIP_WIDTHS times its width
    (times its magnitude, at least 1, when the reference holds one value).
    """
    values = reference.to_numpy(dtype=np.float64, na_value=np.nan)
    finite = values[np.isfinite(values)].clip(-LARGEST, LARGEST)
    if not finite.size:
        return -LARGEST, LARGEST
    low, high = float(finite.min()), float(finite.max())
    width = (high - low) or max(abs(low), 1.0)
    return max(low - CLIP_WIDTHS * width, -LARGEST), min(high + CLIP_WIDTHS * width, LARGEST)


def measure(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    monitoring: MonitoringConfig,
    score_column: str,
    report_path: Path,
    run_report: Callable[[DriftRequest], DriftScores],
) -> DriftResult:
    """Measure every column's drift with `run_report` (which also saves the HTML report).

    Columns without any value in `current` are not measured, and count as drifted. Numbers of
    both samples are clipped to `clip_range` of the reference first; the result counts the
    current values clipped, per column.
    """
    rules = {
        c.name: Rule(c.kind, *column_rule(monitoring, c.name, c.kind)) for c in schema().features
    }
    prediction = monitoring.prediction
    rules[score_column] = Rule("numeric", prediction.method, prediction.threshold)
    empty = {name for name in rules if current[name].isna().all()}
    measured = [name for name in rules if name not in empty]
    bounds = {
        name: clip_range(reference[name]) for name in measured if rules[name].kind == "numeric"
    }
    clipped = {
        name: int(((current[name] < low) | (current[name] > high)).sum())
        for name, (low, high) in bounds.items()
    }
    scores: DriftScores = {}
    if measured:
        scores = run_report(
            DriftRequest(
                reference=_clipped(reference[measured], bounds),
                current=_clipped(current[measured], bounds),
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
        columns=[checks[c.name] for c in schema().features],
        prediction=checks[score_column],
        clipped={name: n for name, n in clipped.items() if n},
    )


def _clipped(frame: pd.DataFrame, bounds: dict[str, tuple[float, float]]) -> pd.DataFrame:
    """`frame` with each bounded column's values clipped to its bounds (missing values stay)."""
    return frame.assign(
        **{name: frame[name].clip(low, high) for name, (low, high) in bounds.items()}
    )
