"""The estimators a config may name, and the model pipeline built around one.

Estimators are named here by their import path, so that checking a config's estimator name
imports no scikit-learn; it is imported when a pipeline is built.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

from .errors import UserError
from .schema import MISSING_CATEGORY, ProblemType, feature_names

if TYPE_CHECKING:
    from sklearn.base import BaseEstimator
    from sklearn.pipeline import Pipeline

# The estimators a config may name, per problem type: name -> "module:class".
ESTIMATORS: dict[ProblemType, dict[str, str]] = {
    "classification": {
        "hist_gradient_boosting": "sklearn.ensemble:HistGradientBoostingClassifier",
        "random_forest": "sklearn.ensemble:RandomForestClassifier",
        "logistic_regression": "sklearn.linear_model:LogisticRegression",
    },
    "regression": {
        "hist_gradient_boosting": "sklearn.ensemble:HistGradientBoostingRegressor",
        "random_forest": "sklearn.ensemble:RandomForestRegressor",
        "ridge": "sklearn.linear_model:Ridge",
    },
}

# Types skops must be told to trust when loading these pipelines (it refuses unknown types).
SKOPS_TRUSTED_TYPES = [
    "numpy.dtype",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.tree._tree.Tree",
]


def estimator_class(problem_type: ProblemType, name: str) -> "type[BaseEstimator]":
    """The scikit-learn class behind an estimator name (imports it)."""
    module, _, attribute = ESTIMATORS[problem_type][name].partition(":")
    found: type[BaseEstimator] = getattr(import_module(module), attribute)
    return found


def check_params(problem_type: ProblemType, name: str, params: dict[str, Any]) -> None:
    """Raise a UserError naming a parameter the estimator does not have, or a value it refuses."""
    from sklearn.utils._param_validation import InvalidParameterError

    valid = estimator_class(problem_type, name)().get_params()
    unknown = sorted(set(params) - set(valid))
    if unknown:
        raise UserError(
            f"model.params: {', '.join(unknown)} not a parameter of {name}; "
            f"valid: {', '.join(sorted(valid))}"
        )
    if "random_state" in params:
        raise UserError("model.params.random_state: set split.seed instead; it seeds the model too")
    try:  # scikit-learn's own check of each parameter's type and range, run before every fit
        estimator_class(problem_type, name)(**params)._validate_params()
    except InvalidParameterError as error:
        problem = " ".join(str(error).split())
        cut = problem if len(problem) <= 200 else f"{problem[:197]}..."
        raise UserError(f"model.params: {cut}; fix the value in the config") from None


def build_pipeline(
    problem_type: ProblemType,
    name: str,
    params: dict[str, Any],
    seed: int,
    features: list[str] | None = None,
) -> "Pipeline":
    """Imputation and encoding of the given features (default: all), then the estimator."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    check_params(problem_type, name, params)
    used = feature_names() if features is None else features
    estimator = estimator_class(problem_type, name)(**params)
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
