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

from ..core.errors import UserError
from ..io import exported_model
from ..io.prediction_log import PredictionLogWriter
from .app import create_app
from .fetch import fetch_model
from .prometheus import MULTIPROCESS_ENV
from .settings import Settings

FACTORY = "{{ cookiecutter.package_name }}.serving.app:app_from_env"
GRACEFUL_SHUTDOWN_SECONDS = 20


def check_model(settings: Settings) -> exported_model.Bundle:
    """Load the model in MODEL_DIR; check that it is the one MODEL_URI names (if set)."""
    if settings.model_dir is None:
        raise UserError("no model folder: fetch the model first (see `serving.fetch`)")
    bundle = exported_model.read_bundle(settings.model_dir)
    info = bundle[0]
    if settings.model_uri not in (None, info.uri, info.source_uri):
        raise UserError(
            f"MODEL_URI={settings.model_uri} but {settings.model_dir} holds {info.uri} "
            f"(exported from {info.source_uri}); unset one of them"
        )
    return bundle


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


def serve(model: str | None, host: str, port: int, workers: int) -> None:
    """Fetch `model` (default: MODEL_URI), or use MODEL_DIR's, and serve it until SIGTERM/SIGINT.

    Settings come from the environment; a bad setting or a failed start-up is a UserError.
    """
    environ = dict(os.environ, **({"MODEL_URI": model} if model else {}))
    # The export (the slowest part of start-up) starts first; the rest happens meanwhile.
    with fetch_model(environ.get("MODEL_URI"), environ.get("MODEL_DIR")) as fetch:
        settings = Settings.from_env(environ)
        run(settings.model_copy(update={"model_dir": fetch.model_dir()}), host, port, workers)


def run(settings: Settings, host: str, port: int, workers: int) -> None:
    """Check, then serve MODEL_DIR's model until SIGTERM/SIGINT; UserError if start-up fails."""
    with _scratch() as scratch:
        bundle = check_model(settings)
        info = bundle[0]
        check_log_folder(settings)
        metrics_dir = scratch / "metrics"
        metrics_dir.mkdir()
        os.environ.update(settings.to_env())
        os.environ[MULTIPROCESS_ENV] = str(metrics_dir)
        print(f"serving {info.uri} (from {info.source_uri}) on http://{host}:{port}", flush=True)
        # In the parent too, so an import or set-up error stops here; one worker runs in this
        # process and serves the model already loaded.
        app = create_app(settings, bundle if workers == 1 else None)
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
