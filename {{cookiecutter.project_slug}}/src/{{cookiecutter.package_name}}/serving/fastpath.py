"""An inference fast path built from the fitted pipeline at load time, used only where it is exact.

The pipeline spends most of a small request's time in scikit-learn's and pandas' input checks,
not in arithmetic. `choose` reads the fitted steps once and builds a scorer that does the same
arithmetic on NumPy arrays: an imputer's fitted fill values, a scaler's fitted mean and scale, a
one-hot encoder as a dictionary from category to column, then the fitted estimator itself on the
resulting array, as the pipeline calls it. Contract: the fast path serves only if it knows every
step and gives exactly the pipeline's predictions and probabilities on the version's stored
reference sample (the whole sample at once and its first rows one by one), checked once at
start-up in the runner's `scoring_context`; otherwise the pipeline serves, and `Choice.reason`
says why (`GET /model` shows it).
"""

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import repeat
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from ..core.estimators import ESTIMATORS
from .runner import Columns, Predictions, Scorer, pipeline_scorer, scoring_context

# Rows of the reference sample also scored one at a time (the shape of most requests).
SINGLE_ROWS_CHECKED = 8
Block = Callable[[Columns], NDArray[np.float64]]


@dataclass(frozen=True)
class Choice:
    """The scorer that serves, which path it is, and why."""

    scorer: Scorer
    path: Literal["fast", "pipeline"]
    reason: str


class Unsupported(Exception):
    """The pipeline holds a step, or a setting of one, the fast path does not reproduce."""


def choose(model: Pipeline, reference: Columns | None) -> Choice:
    """The fast path if it is exact on `reference` (the reference sample), else the pipeline."""
    slow = pipeline_scorer(model)
    if reference is None:
        return Choice(
            slow, "pipeline", "the model folder holds no reference sample to check a fast path on"
        )
    try:
        fast = build(model)
    except Unsupported as error:
        return Choice(slow, "pipeline", f"the fast path does not know {error}")
    try:
        with scoring_context():
            different = _difference(fast, slow, reference)
    except Exception as error:  # any failure of the fast path on valid rows disqualifies it
        different = (
            f"it failed on the reference sample ({type(error).__name__}: {str(error)[:100]})"
        )
    if different:
        return Choice(slow, "pipeline", f"the fast path was not exact: {different}")
    rows = len(next(iter(reference.values())))
    return Choice(fast, "fast", f"equal to the pipeline on the {rows}-row reference sample")


def build(model: Pipeline) -> Scorer:
    """The fast scorer for a fitted pipeline of known steps; Unsupported names an unknown one."""
    if not isinstance(model, Pipeline) or len(model.steps) != 2:
        raise Unsupported(f"a model that is not a 2-step Pipeline ({type(model).__name__})")
    preprocess, estimator = model.steps[0][1], model.steps[1][1]
    if not isinstance(preprocess, ColumnTransformer):
        raise Unsupported(f"the preprocessing step {type(preprocess).__name__}")
    if not _known_estimator(type(estimator)):
        raise Unsupported(f"the estimator {type(estimator).__name__}")
    if hasattr(estimator, "feature_names_in_"):
        raise Unsupported("an estimator fitted on named columns")
    transform = _column_transformer(preprocess)
    if hasattr(estimator, "predict_proba"):
        classes = estimator.classes_

        def classify(columns: Columns) -> Predictions:
            probabilities = np.asarray(
                estimator.predict_proba(transform(columns)), dtype=np.float64
            )
            labels = classes[probabilities.argmax(axis=1)]
            return Predictions(values=labels.tolist(), probabilities=probabilities)

        return classify

    def regress(columns: Columns) -> Predictions:
        predictions = np.asarray(estimator.predict(transform(columns)), dtype=np.float64)
        return Predictions(values=predictions.tolist(), probabilities=None)

    return regress


def _known_estimator(kind: type) -> bool:
    """Whether the class is one of ESTIMATORS (a loaded model's class: its module is imported)."""
    for names in ESTIMATORS.values():
        for path in names.values():
            module, _, attribute = path.partition(":")
            if getattr(sys.modules.get(module), attribute, None) is kind:
                return True
    return False


def _column_transformer(transformer: ColumnTransformer) -> Block:
    """The ColumnTransformer's output: each fitted transformer's block, side by side."""
    if getattr(transformer, "sparse_output_", False):
        raise Unsupported("a sparse ColumnTransformer output")
    blocks: list[Block] = []
    for name, fitted, names in transformer.transformers_:
        if fitted == "drop" or len(names) == 0:
            continue
        if not all(isinstance(column, str) for column in names):
            raise Unsupported(f"columns of {name!r} not given by name")
        steps = fitted.steps if isinstance(fitted, Pipeline) else [(name, fitted)]
        kinds = [type(step) for _, step in steps]
        if kinds == [SimpleImputer, OneHotEncoder]:
            blocks.append(_one_hot(steps[0][1], steps[1][1], list(names)))
        elif all(kind in (SimpleImputer, StandardScaler) for kind in kinds) and kinds[:1] == [
            SimpleImputer
        ]:
            blocks.append(_numeric([step for _, step in steps], list(names)))
        else:
            raise Unsupported(
                f"the transformer {name!r} ({' -> '.join(k.__name__ for k in kinds)})"
            )

    def transform(columns: Columns) -> NDArray[np.float64]:
        return np.hstack([block(columns) for block in blocks])

    return transform


def _numeric(steps: list[Any], names: list[str]) -> Block:
    """Impute, then scale numbers: the float64 operations SimpleImputer and StandardScaler do."""
    imputer: SimpleImputer = steps[0]
    _plain_imputer(imputer)
    fill = np.asarray(imputer.statistics_, dtype=np.float64)
    if np.isnan(fill).any():
        raise Unsupported("an imputer that drops a column it never saw a value of")
    scalers: list[tuple[NDArray[np.float64] | None, NDArray[np.float64] | None]] = []
    for step in steps[1:]:
        if isinstance(step, SimpleImputer):
            raise Unsupported("a second imputer")
        scalers.append(
            (step.mean_ if step.with_mean else None, step.scale_ if step.with_std else None)
        )

    def block(columns: Columns) -> NDArray[np.float64]:
        values = np.array([columns[name] for name in names], dtype=np.float64).T
        values = np.where(np.isnan(values), fill, values)
        for mean, scale in scalers:
            if mean is not None:
                values -= mean
            if scale is not None:
                values /= scale
        return values

    return block


def _one_hot(imputer: SimpleImputer, encoder: OneHotEncoder, names: list[str]) -> Block:
    """Fill missing categories, then one column per fitted category (unknown ones: all zeros)."""
    _plain_imputer(imputer)
    if encoder.drop_idx_ is not None or getattr(encoder, "_infrequent_enabled", False):
        raise Unsupported("a one-hot encoder that drops or groups categories")
    if encoder.sparse_output or encoder.handle_unknown != "ignore":
        raise Unsupported("a one-hot encoder that is sparse or errs on unknown categories")
    fills = [str(value) for value in imputer.statistics_]
    lookups: list[dict[str | None, int]] = []
    offsets: list[int] = []
    width = 0
    for categories, fill in zip(encoder.categories_, fills, strict=True):
        if not all(isinstance(category, str) for category in categories):
            raise Unsupported("categories that are not strings")
        lookup: dict[str | None, int] = {c: index for index, c in enumerate(categories)}
        lookup[None] = lookup.get(fill, -1)  # a missing value is the imputer's fill
        lookups.append(lookup)
        offsets.append(width)
        width += len(categories)
    dtype = encoder.dtype

    def block(columns: Columns) -> NDArray[np.float64]:
        rows = len(columns[names[0]])
        encoded = np.zeros((rows, width), dtype=dtype)
        for name, lookup, offset in zip(names, lookups, offsets, strict=True):
            indices = _indices(columns[name], lookup)
            found = indices >= 0
            encoded[np.flatnonzero(found), indices[found] + offset] = 1
        return encoded

    return block


def _indices(values: Sequence[Any], lookup: dict[str | None, int]) -> NDArray[np.intp]:
    """Each value's category index in `lookup` (None included), -1 for one never seen."""
    return np.fromiter(map(lookup.get, values, repeat(-1)), dtype=np.intp, count=len(values))


def _plain_imputer(imputer: SimpleImputer) -> None:
    """An imputer that fills NaN (None) with its fitted statistics and adds nothing."""
    missing = imputer.missing_values
    if imputer.add_indicator or not (isinstance(missing, float) and np.isnan(missing)):
        raise Unsupported("an imputer with an indicator or other missing markers than NaN")


def _difference(fast: Scorer, slow: Scorer, reference: Columns) -> str:
    """How the two scorers differ on the reference sample, or '' when they are equal."""
    tables = [reference] + [
        {name: values[row : row + 1] for name, values in reference.items()}
        for row in range(min(SINGLE_ROWS_CHECKED, len(next(iter(reference.values())))))
    ]
    for number, table in enumerate(tables):
        mine, theirs = fast(table), slow(table)
        what = "the whole sample" if number == 0 else f"row {number - 1} alone"
        if mine.values != theirs.values:
            return f"other predictions on {what}"
        if (mine.probabilities is None) != (theirs.probabilities is None) or (
            mine.probabilities is not None
            and theirs.probabilities is not None
            and not np.array_equal(mine.probabilities, theirs.probabilities)
        ):
            return f"other probabilities on {what}"
    return ""
