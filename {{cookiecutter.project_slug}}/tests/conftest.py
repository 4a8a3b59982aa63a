"""Shared fixtures: every test runs in its own folder with its own registry, never the project's."""

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.helpers import Webhook, copy_project, project_config

if TYPE_CHECKING:
    from {{ cookiecutter.package_name }}.training.train import Evaluation


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A scratch copy of configs, their data and the baseline as working directory, own registry."""
    copy_project(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    return tmp_path


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small model exported as `serve` exports one, fitted on the smoke config's data."""
    import skops.io

    from {{ cookiecutter.package_name }}.core.estimators import build_pipeline
    from {{ cookiecutter.package_name }}.core.schema import feature_names, target
    from {{ cookiecutter.package_name }}.features import build_features
    from {{ cookiecutter.package_name }}.io.exported_model import (
        ModelInfo,
        write_info,
        write_reference,
    )

    folder = tmp_path_factory.mktemp("model")
    config = project_config("smoke.yaml", features_dir=folder / "features")
    frame = build_features(config.data).frame
    model = build_pipeline(config.problem_type, "hist_gradient_boosting", {"max_iter": 20}, 42)
    model.fit(frame[feature_names()], frame[target()])
    skops.io.dump(model, folder / "model.skops")
    frame[feature_names()].to_parquet(folder / "features.parquet")
    reference = frame[feature_names()].head(200).astype(object)
    write_reference(
        folder, {str(k): list(v) for k, v in reference.where(reference.notna(), None).items()}
    )
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


@pytest.fixture(scope="session")
def full_run(tmp_path_factory: pytest.TempPathFactory) -> "Evaluation":
    """configs/v1.yaml fitted and evaluated on its data (no registry): the full model's metrics."""
    from {{ cookiecutter.package_name }}.features import build_features, split
    from {{ cookiecutter.package_name }}.training.train import fit_and_evaluate

    config = project_config("v1.yaml", features_dir=tmp_path_factory.mktemp("v1") / "features")
    return fit_and_evaluate(split(build_features(config.data).frame, config), config)[1]


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    """A local test webhook server, recording each JSON body it accepts."""
    hook = Webhook(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            hook.requests += 1
            if hook.requests <= hook.failures:
                self.send_response(500)
            else:
                hook.received.append(json.loads(body))
                self.send_response(200)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            """Keep test output quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    hook.url = f"http://127.0.0.1:{server.server_port}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield hook
    server.shutdown()
    server.server_close()
