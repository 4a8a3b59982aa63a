"""The model card: made from a version's metadata; served by the service that serves it."""

import shutil
from pathlib import Path

from fastapi.testclient import TestClient
from sklearn.dummy import DummyClassifier
from sklearn.pipeline import Pipeline

from {{ cookiecutter.package_name }}.core.schema import feature_names
from {{ cookiecutter.package_name }}.io.exported_model import CARD_FILE
from {{ cookiecutter.package_name }}.serving.app import create_app
from {{ cookiecutter.package_name }}.serving.settings import ServiceSettings
from {{ cookiecutter.package_name }}.training.card import CardFacts, model_card
from tests.helpers import project_config


def facts(champion: tuple[str, dict[str, float]] | None) -> CardFacts:
    return CardFacts(
        name="churn",
        version="3",
        run_id="run-3",
        tags={"git_commit": "abc123", "config_fingerprint": "c" * 64},
        manifest={"source": "data/x.csv", "rows": 120, "fingerprint": "f" * 64},
        metrics={"score": 0.81},
        baseline_metrics={"score": 0.5},
        champion=champion,
    )


def test_the_card_holds_data_features_metrics_and_what_to_fill_in() -> None:
    config = project_config()
    text = model_card(
        Pipeline([("model", DummyClassifier())]), config, facts(("2", {"score": 0.8}))
    )
    assert "models:/churn/3" in text and "abc123" in text and "data/x.csv" in text
    assert "| score | 0.8100 | 0.5000 | 0.8000 |" in text
    assert "champion (version 2)" in text
    assert all(f"`{name}`" in text for name in config.model.features())
    assert text.count("To fill in by the team") == 2
    first = model_card(Pipeline([("model", DummyClassifier())]), config, facts(None))
    assert "no champion when this version was trained" in first


def test_the_service_serves_the_card_of_its_version(model_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "model"
    shutil.copytree(model_dir, folder)
    settings = ServiceSettings.model_validate(
        {"model_dir": folder, "prediction_log_dir": tmp_path / "log"}
    )
    with TestClient(create_app(settings)) as client:
        missing = client.get("/model/card")
        (folder / CARD_FILE).write_text(f"# Model card\n\nreads {feature_names()[0]}\n")
        served = client.get("/model/card")
    assert missing.status_code == 404 and "no model card" in missing.json()["detail"]
    assert served.status_code == 200
    assert served.headers["content-type"].startswith("text/markdown")
    assert feature_names()[0] in served.text
