"""Metrics per problem type: pure functions of true values and predictions."""

import math
import warnings
from collections.abc import Callable
from typing import Any, Protocol

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


class Predictor(Protocol):
    """A fitted model: scikit-learn's predict, and predict_proba when classifying."""

    def predict(self, x: Any) -> Any:
        """Predicted labels or values."""

    def predict_proba(self, x: Any) -> Any:
        """Class probabilities, one column per class."""


def predict(
    model: Predictor, x: Any, classify: bool
) -> tuple[NDArray[np.float64], NDArray[np.float64] | None]:
    """Predicted labels or values, and the positive-class probability when classifying."""
    predicted = np.asarray(model.predict(x), dtype=np.float64)
    probability = np.asarray(model.predict_proba(x)[:, 1], dtype=np.float64) if classify else None
    return predicted, probability


def score(
    problem_type: ProblemType, names: list[str], model: Predictor, x: Any, y_true: Any
) -> dict[str, float]:
    """The named metrics of an already fitted model on the rows `x` with labels `y_true`."""
    predicted, probability = predict(model, x, problem_type == "classification")
    y = np.asarray(y_true, dtype=np.float64)
    return evaluate(problem_type, names, y, predicted, probability)


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
