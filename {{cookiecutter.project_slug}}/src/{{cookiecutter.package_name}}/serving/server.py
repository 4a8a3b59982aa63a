"""`serve`: check the settings, export and load the model once, then run uvicorn's workers.

Everything that can fail is tried here, in the parent process, before any worker starts: a bad
setting, a model that cannot be fetched or loaded, a log folder that cannot be written all stop
start-up with one line. An alias is resolved here, once, so every worker serves the same version.
"""

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors import Multiprocess

from .. import model_bundle
from ..errors import UserError
from .app import create_app
from .metrics import MULTIPROCESS_ENV
from .prediction_log import PredictionLogWriter
from .settings import Settings

FACTORY = "{{ cookiecutter.package_name }}.serving.app:app_from_env"
GRACEFUL_SHUTDOWN_SECONDS = 20


def prepare_model(settings: Settings, scratch: Path) -> tuple[Settings, model_bundle.ModelInfo]:
    """Use the exported model in MODEL_DIR, or export MODEL_URI; then check that it loads."""
    folder = settings.model_dir
    if folder is not None and model_bundle.has_bundle(folder):
        info = model_bundle.read_info(folder)
        if settings.model_uri not in (None, info.uri, info.source_uri):
            raise UserError(
                f"MODEL_URI={settings.model_uri} but {folder} holds {info.uri} "
                f"(exported from {info.source_uri}); unset one of them"
            )
    elif settings.model_uri is None:
        raise UserError(
            "no model to serve: set MODEL_URI (models:/<name>/<version> or models:/<name>@<alias>)"
        )
    else:
        from .. import registry  # MLflow is imported only when the model must be fetched

        folder = folder or scratch / "model"
        info = registry.export_model(settings.model_uri, folder)
    model_bundle.read_bundle(folder)
    return settings.model_copy(update={"model_dir": folder}), info


def check_log_folder(settings: Settings) -> None:
    """Fail now, not in a worker, if the prediction log folder cannot be written."""
    writer = PredictionLogWriter(settings.prediction_log_dir, settings.prediction_log_max_bytes)
    writer.start()
    writer.close()


@contextmanager
def _scratch() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="{{ cookiecutter.project_slug }}-serve-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def serve(settings: Settings, host: str, port: int, workers: int) -> None:
    """Prepare, then serve until SIGTERM/SIGINT; raise UserError if start-up fails."""
    with _scratch() as scratch:
        settings, info = prepare_model(settings, scratch)
        check_log_folder(settings)
        metrics_dir = scratch / "metrics"
        metrics_dir.mkdir()
        os.environ.update(settings.to_env())
        os.environ[MULTIPROCESS_ENV] = str(metrics_dir)
        print(f"serving {info.uri} (from {info.source_uri}) on http://{host}:{port}", flush=True)
        app = create_app(settings)  # in the parent too: an import or set-up error stops here
        config = uvicorn.Config(
            app if workers == 1 else FACTORY,
            factory=workers > 1,
            host=host,
            port=port,
            workers=workers,
            access_log=False,
            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        )
        if workers == 1:
            server = uvicorn.Server(config)
            server.run()
            started = server.started
        else:
            supervisor = Multiprocess(config, sockets=[config.bind_socket()])
            supervisor.run()
            started = all(p.exitcode != STARTUP_FAILURE for p in supervisor.processes)
        if not started:
            raise UserError(f"the server for {info.uri} did not start; see the lines above")
