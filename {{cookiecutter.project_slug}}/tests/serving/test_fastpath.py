"""The inference fast path: it serves only where it equals the pipeline, and says why not."""

from pathlib import Path

import numpy as np
import pytest
import skops.io
from fastapi.testclient import TestClient
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from {{ cookiecutter.package_name }}.core.estimators import SKOPS_TRUSTED_TYPES
from {{ cookiecutter.package_name }}.io.exported_model import read_info, read_reference
from {{ cookiecutter.package_name }}.serving import fastpath
from {{ cookiecutter.package_name }}.serving.app import create_app
from {{ cookiecutter.package_name }}.serving.runner import (
    Columns,
    Predictions,
    frame,
    pipeline_scorer,
)
from {{ cookiecutter.package_name }}.serving.settings import ServiceSettings


def pipeline(model_dir: Path) -> Pipeline:
    model = skops.io.load(model_dir / "model.skops", trusted=SKOPS_TRUSTED_TYPES)
    assert isinstance(model, Pipeline)
    return model


def reference(model_dir: Path) -> Columns:
    found = read_reference(model_dir)
    assert found is not None
    return found


def with_unknown_estimator(model: Pipeline, rows: Columns) -> Pipeline:
    """The same fitted preprocessing and a fitted estimator the fast path does not know."""
    inputs = model[0].transform(frame(rows))
    labels = pipeline_scorer(model)(rows).values
    unknown = DecisionTreeClassifier if hasattr(model, "predict_proba") else DecisionTreeRegressor
    return Pipeline([("preprocess", model[0]), ("estimator", unknown().fit(inputs, labels))])


def test_the_fast_path_serves_a_known_pipeline_and_equals_it(model_dir: Path) -> None:
    model, rows = pipeline(model_dir), reference(model_dir)
    choice = fastpath.choose(model, rows)
    assert (choice.path, choice.reason) == (
        "fast",
        "equal to the pipeline on the 200-row reference sample",
    )
    mine, theirs = choice.scorer(rows), pipeline_scorer(model)(rows)
    assert mine.values == theirs.values
    if theirs.probabilities is not None:
        assert mine.probabilities is not None
        assert np.array_equal(mine.probabilities, theirs.probabilities)


def test_an_unknown_estimator_or_transformer_falls_back_to_the_pipeline(model_dir: Path) -> None:
    model, rows = pipeline(model_dir), reference(model_dir)
    choice = fastpath.choose(with_unknown_estimator(model, rows), rows)
    assert choice.path == "pipeline"
    assert "does not know the estimator DecisionTree" in choice.reason
    preprocess = model[0]
    numeric = next(name for name, *_ in preprocess.transformers_ if name == "numeric")
    scaled = preprocess.named_transformers_[numeric]
    scaled.steps[-1] = ("scaler", MinMaxScaler().fit(np.zeros((2, scaled[-1].n_features_in_))))
    choice = fastpath.choose(model, rows)
    assert choice.path == "pipeline"
    assert "MinMaxScaler" in choice.reason


def test_a_fast_path_that_differs_or_has_no_sample_is_not_used(
    model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model, rows = pipeline(model_dir), reference(model_dir)
    assert fastpath.choose(model, None).reason.endswith(
        "no reference sample to check a fast path on"
    )
    exact = fastpath.build(model)

    def off_by_a_little(columns: Columns) -> Predictions:
        found = exact(columns)
        values = (
            found.values if found.probabilities is not None else [v + 1e-9 for v in found.values]
        )
        moved = None if found.probabilities is None else found.probabilities + 1e-12
        return Predictions(values=values, probabilities=moved)

    monkeypatch.setattr(fastpath, "build", lambda _: off_by_a_little)
    choice = fastpath.choose(model, rows)
    assert choice.path == "pipeline"
    assert "not exact: other" in choice.reason and "on the whole sample" in choice.reason


def test_model_says_which_path_serves_and_why(model_dir: Path, tmp_path: Path) -> None:
    model, rows = pipeline(model_dir), reference(model_dir)
    settings = ServiceSettings.model_validate(
        {"model_dir": model_dir, "prediction_log_dir": tmp_path / "log"}
    )
    app = create_app(settings, (read_info(model_dir), with_unknown_estimator(model, rows)))
    with TestClient(app) as client:
        inference = client.get("/model").json()["inference"]
        answer = client.post("/predict", json={"columns": {k: v[:2] for k, v in rows.items()}})
    assert inference["path"] == "pipeline"
    assert "DecisionTree" in inference["reason"]
    assert answer.status_code == 200
