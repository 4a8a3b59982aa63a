"""Shared fixtures: every test runs in its own folder with its own registry, never the project's."""

import json
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import PROJECT, Webhook


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

    from {{ cookiecutter.package_name }}.core.config import load_config
    from {{ cookiecutter.package_name }}.core.estimators import build_pipeline
    from {{ cookiecutter.package_name }}.core.schema import TARGETS, feature_names
    from {{ cookiecutter.package_name }}.features import build_features
    from {{ cookiecutter.package_name }}.io.exported_model import ModelInfo, write_info

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
