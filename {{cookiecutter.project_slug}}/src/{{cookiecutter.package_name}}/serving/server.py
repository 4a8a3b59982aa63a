"""`serve`: check the fetched model and the settings, then run uvicorn's workers.

Everything that can fail is tried here, in the parent process, before any worker starts: a model
that cannot be loaded or is not the one MODEL_URI names, a log folder that cannot be written
stop start-up with one line. The model was exported once (`serving.fetch`, an alias resolved to
its version), so every worker serves the same version.
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

from .. import model_bundle, model_info
from ..errors import UserError
from .app import create_app
from .metrics import MULTIPROCESS_ENV
from .prediction_log import PredictionLogWriter
from .settings import Settings

FACTORY = "{{ cookiecutter.package_name }}.serving.app:app_from_env"
GRACEFUL_SHUTDOWN_SECONDS = 20


def check_model(settings: Settings) -> model_info.ModelInfo:
    """Check that MODEL_DIR holds the model MODEL_URI names (if set) and that it loads."""
    if settings.model_dir is None:
        raise UserError("no model folder: fetch the model first (see `serving.fetch`)")
    info = model_info.read_info(settings.model_dir)
    if settings.model_uri not in (None, info.uri, info.source_uri):
        raise UserError(
            f"MODEL_URI={settings.model_uri} but {settings.model_dir} holds {info.uri} "
            f"(exported from {info.source_uri}); unset one of them"
        )
    model_bundle.read_bundle(settings.model_dir)
    return info


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
    """Check, then serve MODEL_DIR's model until SIGTERM/SIGINT; UserError if start-up fails."""
    with _scratch() as scratch:
        info = check_model(settings)
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
