"""Evaluation figures: pure functions from predictions to matplotlib figures (no file I/O)."""

import matplotlib

matplotlib.use("Agg")

import numpy as np
from matplotlib.figure import Figure
from numpy.typing import NDArray
from sklearn.metrics import (
    ConfusionMatrixDisplay,
    PredictionErrorDisplay,
    RocCurveDisplay,
)


def confusion_matrix(y_true: NDArray[np.float64], predicted: NDArray[np.float64]) -> Figure:
    """Counts of true against predicted classes on the test split."""
    figure = Figure(figsize=(4, 4))
    ConfusionMatrixDisplay.from_predictions(y_true, predicted, ax=figure.subplots(), colorbar=False)
    return figure


def roc_curve(y_true: NDArray[np.float64], probability: NDArray[np.float64]) -> Figure:
    """ROC curve of the positive-class probability on the test split."""
    figure = Figure(figsize=(4, 4))
    RocCurveDisplay.from_predictions(y_true, probability, ax=figure.subplots())
    return figure


def residuals(y_true: NDArray[np.float64], predicted: NDArray[np.float64]) -> Figure:
    """Residuals against predicted values on the test split."""
    figure = Figure(figsize=(5, 4))
    PredictionErrorDisplay.from_predictions(y_true, predicted, ax=figure.subplots())
    return figure


def feature_importance(names: list[str], importances: NDArray[np.float64]) -> Figure:
    """Horizontal bars of permutation importance, largest at the top."""
    order = np.argsort(importances)
    figure = Figure(figsize=(5, 0.4 * len(names) + 1))
    axes = figure.subplots()
    axes.barh([names[i] for i in order], importances[order])
    axes.set_xlabel("mean drop in score when shuffled (test split)")
    figure.tight_layout()
    return figure
