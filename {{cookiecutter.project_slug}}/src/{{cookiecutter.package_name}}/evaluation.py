"""Metrics per problem type: pure functions of true values and predictions."""

import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .schema import ProblemType

Metric = Callable[[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64] | None], float]


def _sk() -> Any:
    """scikit-learn's metrics, imported on first use: checking a config's metric names does not."""
    from sklearn import metrics

    return metrics


def _rmse(y: NDArray[np.float64], pred: NDArray[np.float64], _: object) -> float:
    return float(np.sqrt(_sk().mean_squared_error(y, pred)))


# Each metric takes (y_true, predicted labels or values, positive-class probability or None).
METRICS: dict[ProblemType, dict[str, Metric]] = {
    "classification": {
        "roc_auc": lambda y, _, proba: float(_sk().roc_auc_score(y, proba)),
        "average_precision": lambda y, _, proba: float(_sk().average_precision_score(y, proba)),
        "log_loss": lambda y, _, proba: float(_sk().log_loss(y, proba, labels=[0, 1])),
        "accuracy": lambda y, pred, _: float(_sk().accuracy_score(y, pred)),
        "f1": lambda y, pred, _: float(_sk().f1_score(y, pred, zero_division=0)),
        "precision": lambda y, pred, _: float(_sk().precision_score(y, pred, zero_division=0)),
        "recall": lambda y, pred, _: float(_sk().recall_score(y, pred, zero_division=0)),
    },
    "regression": {
        "rmse": _rmse,
        "mae": lambda y, pred, _: float(_sk().mean_absolute_error(y, pred)),
        "r2": lambda y, pred, _: float(_sk().r2_score(y, pred)),
    },
}


def evaluate(
    problem_type: ProblemType,
    names: list[str],
    y_true: NDArray[np.float64],
    predicted: NDArray[np.float64],
    probability: NDArray[np.float64] | None,
) -> dict[str, float]:
    """Compute the named metrics, rounded so that equal runs compare equal as text."""
    table = METRICS[problem_type]
    return {name: round(table[name](y_true, predicted, probability), 10) for name in names}


def evaluate_defined(
    problem_type: ProblemType,
    names: list[str],
    y_true: NDArray[np.float64],
    predicted: NDArray[np.float64],
    probability: NDArray[np.float64] | None,
) -> dict[str, float | None]:
    """Compute the named metrics, each None where the data cannot define it.

    For example ROC AUC on rows of one class, or R² on a single row.
    """
    table = METRICS[problem_type]
    values: dict[str, float | None] = {}
    for name in names:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # sklearn warns, then returns nan, on such data
            try:
                value = table[name](y_true, predicted, probability)
            except (ValueError, TypeError):
                value = math.nan
        values[name] = round(value, 10) if math.isfinite(value) else None
    return values
