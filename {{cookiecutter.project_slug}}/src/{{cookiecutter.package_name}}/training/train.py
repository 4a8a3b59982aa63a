"""Training step: features -> split -> fit -> evaluate -> log and register one model version."""

import json
import platform
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from matplotlib.figure import Figure
from numpy.typing import NDArray
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.inspection import permutation_importance
from sklearn.pipeline import Pipeline

from .. import TEMPLATE_VERSION
from ..core import progress
from ..core.config import ProjectConfig
from ..core.estimators import build_pipeline, check_params
from ..core.metrics import evaluate, predict
from ..core.schema import feature_names, target
from ..features import FeatureSet, Split, build_features, split
from ..io import data, registry
from . import plots
from .card import CardFacts, model_card

LOCK_FILE = Path("uv.lock")
INPUT_EXAMPLE_ROWS = 5


@dataclass(frozen=True)
class Evaluation:
    """A fitted model's test predictions and metrics, with a trivial baseline's for comparison."""

    predicted: NDArray[np.float64]
    probability: NDArray[np.float64] | None
    metrics: dict[str, float]
    baseline_metrics: dict[str, float]


@dataclass(frozen=True)
class TrainingResult:
    """What a training run produced: the registered version and what it was judged on."""

    version: registry.RegisteredVersion
    metrics: dict[str, float]
    baseline_metrics: dict[str, float]
    data_fingerprint: str
    config_fingerprint: str
    git_commit: str
    test_predictions: NDArray[np.float64]


def fit_and_evaluate(parts: Split, config: ProjectConfig) -> tuple[Pipeline, Evaluation]:
    """Fit the configured pipeline and score it, and a trivial baseline, on the test split."""
    classify = config.problem_type == "classification"
    model = build_pipeline(
        config.problem_type,
        config.model.estimator,
        config.model.params,
        config.split.seed,
        config.model.features(),
    )
    model.fit(parts.x_train, parts.y_train)
    baseline = DummyClassifier(strategy="prior") if classify else DummyRegressor(strategy="mean")
    baseline.fit(parts.x_train, parts.y_train)
    y_test = parts.y_test.to_numpy(dtype=np.float64)
    predicted, probability = predict(model, parts.x_test, classify)
    base_predicted, base_probability = predict(baseline, parts.x_test, classify)
    return model, Evaluation(
        predicted=predicted,
        probability=probability,
        metrics=evaluate(config.problem_type, config.metrics, y_test, predicted, probability),
        baseline_metrics=evaluate(
            config.problem_type, config.metrics, y_test, base_predicted, base_probability
        ),
    )


def _figures(
    model: Pipeline, parts: Split, result: Evaluation, config: ProjectConfig
) -> dict[str, Figure]:
    """Evaluation plots for the problem type, and permutation importance of each feature."""
    y_test = parts.y_test.to_numpy(dtype=np.float64)
    figures = {}
    if result.probability is not None:
        figures["plots/confusion_matrix.png"] = plots.confusion_matrix(y_test, result.predicted)
        figures["plots/roc_curve.png"] = plots.roc_curve(y_test, result.probability)
    else:
        figures["plots/residuals.png"] = plots.residuals(y_test, result.predicted)
    importance = permutation_importance(
        model, parts.x_test, parts.y_test, n_repeats=5, random_state=config.split.seed
    )
    figures["plots/feature_importance.png"] = plots.feature_importance(
        list(parts.x_test.columns), importance.importances_mean
    )
    return figures


def reference_sample(
    model: Pipeline, features: pd.DataFrame, parts: Split, config: ProjectConfig
) -> pd.DataFrame:
    """A seeded sample of the training rows (every schema feature) and the model's predictions.

    Stored with the model version, it is the baseline monitoring compares logged predictions with,
    so the baseline always matches the version being served. Columns as in the prediction log:
    the features, `prediction`, and `probability` (the positive class's; empty for regression).
    """
    rows = min(config.monitoring.reference_rows, len(parts.x_train))
    chosen = parts.x_train.sample(n=rows, random_state=config.split.seed).index.sort_values()
    sample = features.loc[chosen, feature_names()].reset_index(drop=True)
    classify = config.problem_type == "classification"
    predicted, probability = predict(model, sample, classify)
    return sample.assign(
        prediction=predicted, probability=np.nan if probability is None else probability
    )


def _git_commit() -> str:
    """The current commit (with '-dirty' for uncommitted changes), or 'unknown' outside git."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        status = subprocess.run(
            ["git", "status", "--porcelain"], capture_output=True, text=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{commit}-dirty" if status.strip() else commit


def _tags(config: ProjectConfig, features: FeatureSet) -> dict[str, str]:
    """Provenance recorded on the run and on the model version."""
    return {
        "git_commit": _git_commit(),
        "config_fingerprint": config.fingerprint(),
        "data_fingerprint": features.fingerprint,
        "lock_sha256": data.file_sha256(LOCK_FILE) if LOCK_FILE.is_file() else "none",
        "template_version": TEMPLATE_VERSION,
        "problem_type": config.problem_type,
        "python_version": platform.python_version(),
    }


def train(config: ProjectConfig) -> TrainingResult:
    """Build features, fit, evaluate, then log the run and register a new model version."""
    check_params(config.problem_type, config.model.estimator, config.model.params)  # fail early
    with progress.step("train: features"):
        features = build_features(config.data)
    parts = split(features.frame, config)
    with progress.step("train: fit and evaluate"):
        model, result = fit_and_evaluate(parts, config)
    baseline = {f"baseline_{name}": value for name, value in result.baseline_metrics.items()}
    tags = _tags(config, features)
    with progress.step("train: plots"):
        figures = _figures(model, parts, result, config)
    record = registry.TrainingRecord(
        experiment=config.registry.experiment,
        run_name=config.run_name,
        model_name=config.registry.model_name,
        model=model,
        params={
            "estimator": config.model.estimator,
            **{f"model.{k}": v for k, v in config.model.params.items()},
            "test_size": config.split.test_size,
            "seed": config.split.seed,
            "rows": len(features.frame),
            "as_of": str(config.data.as_of),
        },
        metrics={**result.metrics, **baseline},
        tags=tags,
        dataset=features.frame,
        dataset_source=str(features.path),
        dataset_digest=features.fingerprint,
        target=target(),
        training_inputs=parts.x_train,
        input_example=parts.x_test.head(INPUT_EXAMPLE_ROWS),
        text_artifacts={
            "config.yaml": yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False),
            "features/manifest.json": json.dumps(features.manifest, indent=2) + "\n",
        },
        figures=figures,
        reference=reference_sample(model, features.frame, parts, config),
    )
    champion = registry.champion_metrics(config.registry.model_name)
    with progress.step("train: log and register"):
        version = registry.log_and_register(record)
    facts = CardFacts(
        version.name,
        version.version,
        version.run_id,
        tags,
        features.manifest,
        result.metrics,
        result.baseline_metrics,
        champion,
    )
    registry.log_card(version.run_id, model_card(model, config, facts))
    return TrainingResult(
        version=version,
        metrics=result.metrics,
        baseline_metrics=result.baseline_metrics,
        data_fingerprint=features.fingerprint,
        config_fingerprint=config.fingerprint(),
        git_commit=tags["git_commit"],
        test_predictions=result.predicted,
    )
