"""Shared fixtures: every test runs in its own folder with its own registry, never the project's."""

import shutil
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parent.parent


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A scratch copy of configs, sample data and baseline as working directory, own registry."""
    shutil.copytree(PROJECT / "configs", tmp_path / "configs")
    shutil.copytree(PROJECT / "data" / "sample", tmp_path / "data" / "sample")
    shutil.copytree(PROJECT / "metrics", tmp_path / "metrics")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    return tmp_path


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small model exported as `serve` exports one, fitted on the sample data (no registry)."""
    import skops.io

    from {{ cookiecutter.package_name }}.config import load_config
    from {{ cookiecutter.package_name }}.estimators import build_pipeline
    from {{ cookiecutter.package_name }}.features import build_features
    from {{ cookiecutter.package_name }}.model_bundle import ModelInfo, write_info
    from {{ cookiecutter.package_name }}.schema import TARGETS, feature_names

    folder = tmp_path_factory.mktemp("model")
    config = load_config(PROJECT / "configs" / "smoke.yaml")
    data = config.data.model_copy(
        update={"raw_path": PROJECT / config.data.raw_path, "features_dir": folder / "features"}
    )
    frame = build_features(data).frame
    model = build_pipeline(config.problem_type, "hist_gradient_boosting", {"max_iter": 20}, 42)
    model.fit(frame[feature_names()], frame[TARGETS[config.problem_type]])
    skops.io.dump(model, folder / "model.skops")
    frame[feature_names()].to_parquet(folder / "features.parquet")
    write_info(
        folder,
        ModelInfo(
            name="test-model",
            version="7",
            run_id="run-7",
            source_uri="models:/test-model@champion",
            problem_type=config.problem_type,
            data_fingerprint="d" * 64,
            config_fingerprint="c" * 64,
            metrics={"score": 0.5},
            signature={"inputs": [{"name": name} for name in feature_names()]},
            model_file="model.skops",
        ),
    )
    return folder
