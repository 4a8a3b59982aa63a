"""Evidently's drift report for a `DriftRequest`: the one module that imports Evidently.

It runs in the worker process of `evidently_worker`. The features are measured with Evidently's
DataDriftPreset (its drift table and share-of-drifted-columns test), the score column with a
ValueDrift of its own, so that it does not count in the features' share.
"""

from typing import Any

import pandas as pd
from evidently import DataDefinition, Dataset, Report
from evidently.metrics import ValueDrift
from evidently.presets import DataDriftPreset
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

from .drift import DriftRequest, DriftScores, Rule


def _dataset(frame: pd.DataFrame, rules: dict[str, Rule]) -> Dataset:
    definition = DataDefinition(
        numerical_columns=[name for name, rule in rules.items() if rule.kind == "numeric"],
        categorical_columns=[name for name, rule in rules.items() if rule.kind == "categorical"],
    )
    return Dataset.from_pandas(frame[list(rules)], data_definition=definition)


def _failed_tests(snapshot: dict[str, Any]) -> set[str]:
    """Ids of the metrics whose test failed: for a drift metric, the column drifted."""
    return {t["metric_config"]["metric_id"] for t in snapshot["tests"] if t["status"] == "FAIL"}


def run(request: DriftRequest) -> DriftScores:
    """Run the report, save its HTML, and return each column's drift score and outcome."""
    features = request.features
    metrics: list[Any] = []
    if features:
        metrics.append(
            DataDriftPreset(
                columns=list(features),
                drift_share=request.drift_share,
                per_column_method={name: rule.method for name, rule in features.items()},
                per_column_threshold={name: rule.threshold for name, rule in features.items()},
            )
        )
    rules = dict(features)
    if request.score is not None:
        name, rule = request.score
        metrics.append(ValueDrift(column=name, method=rule.method, threshold=rule.threshold))
        rules[name] = rule
    # One thread for numpy's BLAS: its idle threads spin and take the CPU the job needs.
    with threadpool_limits(limits=1):
        snapshot = Report(metrics, include_tests=True).run(
            _dataset(request.current, rules), _dataset(request.reference, rules)
        )
    request.report_path.parent.mkdir(parents=True, exist_ok=True)
    snapshot.save_html(str(request.report_path))
    results = snapshot.dict()
    failed = _failed_tests(results)
    return {
        metric["config"]["column"]: (float(metric["value"]), metric["id"] in failed)
        for metric in results["metrics"]
        if metric["config"]["type"].endswith(":ValueDrift")
    }
