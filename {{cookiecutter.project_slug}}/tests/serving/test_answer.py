"""The /predict answer's JSON, built by column: the same document as one built row by row."""

import json

import numpy as np

from {{ cookiecutter.package_name }}.io.exported_model import ModelInfo
from {{ cookiecutter.package_name }}.serving.app import answer_json
from {{ cookiecutter.package_name }}.serving.payloads import PredictResponse
from {{ cookiecutter.package_name }}.serving.runner import Predictions

INFO = ModelInfo(
    name='churn "%s" ✓',
    version="3",
    run_id="r",
    source_uri="models:/churn/3",
    problem_type="classification",
    data_fingerprint="d",
    config_fingerprint="c",
    metrics={},
    signature={},
    model_file="model.skops",
)


def test_a_classifiers_answer_has_each_rows_label_and_probabilities() -> None:
    labels = ['no "%d"', "yes, ✓"]
    table = np.array([[0.25, 0.75], [1 - 1e-7, 1e-7], [0.5, 0.5]])
    predicted = Predictions([1, 0, 0], table)
    answer = json.loads(answer_json("id.1", INFO, predicted, labels))
    assert answer == {
        "request_id": "id.1",
        "model_name": INFO.name,
        "model_version": "3",
        "predictions": [
            {"prediction": label, "probabilities": dict(zip(labels, row, strict=True))}
            for label, row in zip([1, 0, 0], table.tolist(), strict=True)
        ],
    }
    PredictResponse.model_validate(answer)


def test_a_regressors_answer_has_values_and_no_probabilities() -> None:
    answer = json.loads(answer_json("id.2", INFO, Predictions([1.5, -2e-9, 3e300], None), None))
    assert answer["predictions"] == [
        {"prediction": value, "probabilities": None} for value in [1.5, -2e-9, 3e300]
    ]
    PredictResponse.model_validate(answer)
