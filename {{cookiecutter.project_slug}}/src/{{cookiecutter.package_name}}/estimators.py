"""The small registry of scikit-learn estimators a config may name, and the model pipeline."""

from collections.abc import Callable
from typing import Any

from sklearn.base import BaseEstimator
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from .schema import MISSING_CATEGORY, ProblemType, feature_names

ESTIMATORS: dict[ProblemType, dict[str, Callable[..., BaseEstimator]]] = {
    "classification": {
        "hist_gradient_boosting": HistGradientBoostingClassifier,
        "random_forest": RandomForestClassifier,
        "logistic_regression": LogisticRegression,
    },
    "regression": {
        "hist_gradient_boosting": HistGradientBoostingRegressor,
        "random_forest": RandomForestRegressor,
        "ridge": Ridge,
    },
}

# Types skops must be told to trust when loading these pipelines (it refuses unknown types).
SKOPS_TRUSTED_TYPES = [
    "numpy.dtype",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.tree._tree.Tree",
]


def check_params(problem_type: ProblemType, name: str, params: dict[str, Any]) -> None:
    """Raise ValueError naming any parameter the estimator does not have."""
    valid = ESTIMATORS[problem_type][name]().get_params()
    unknown = sorted(set(params) - set(valid))
    if unknown:
        raise ValueError(
            f"model.params: {', '.join(unknown)} not a parameter of {name}; "
            f"valid: {', '.join(sorted(valid))}"
        )
    if "random_state" in params:
        raise ValueError(
            "model.params.random_state: set split.seed instead; it seeds the model too"
        )


def build_pipeline(
    problem_type: ProblemType,
    name: str,
    params: dict[str, Any],
    seed: int,
    features: list[str] | None = None,
) -> Pipeline:
    """Imputation and encoding of the given features (default: all), then the estimator."""
    used = feature_names() if features is None else features
    estimator = ESTIMATORS[problem_type][name](**params)
    if "random_state" in estimator.get_params():
        estimator.set_params(random_state=seed)
    numeric = make_pipeline(SimpleImputer(strategy="median"), StandardScaler())
    categorical = make_pipeline(
        SimpleImputer(strategy="constant", fill_value=MISSING_CATEGORY),
        OneHotEncoder(handle_unknown="ignore", sparse_output=False),
    )
    preprocess = ColumnTransformer(
        [
            ("numeric", numeric, [f for f in feature_names("numeric") if f in used]),
            ("categorical", categorical, [f for f in feature_names("categorical") if f in used]),
        ],
        verbose_feature_names_out=False,
    )
    return Pipeline([("preprocess", preprocess), ("estimator", estimator)])
