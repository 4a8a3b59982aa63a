"""`serve`: fetch the model, read the settings, check both, then run uvicorn's workers.

Everything that can fail is tried here, in the parent process, before any worker starts: a bad
setting, a model that cannot be fetched or loaded or is not the one MODEL_URI names, a log folder
that cannot be written stop start-up with one line. The model is exported once (`fetch`, an alias
resolved to its version), so every worker serves the same version.

Importing this module imports nothing heavy: `serve` starts the export first and only then
imports pydantic, FastAPI, scikit-learn and uvicorn, while the export runs in its own process.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from ..core import logs
from ..core.errors import UserError
from ..core.schema import feature_names
from ..io import exported_model
from ..io.prediction_log import PredictionLogWriter
from .fetch import ModelFetch, fetch_model

if TYPE_CHECKING:
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    from .settings import ServiceSettings

FACTORY = "{{ cookiecutter.package_name }}.serving.app:app_from_env"
GRACEFUL_SHUTDOWN_SECONDS = 20


class _Stopped(Exception):
    """SIGTERM or SIGINT reached `serve` outside uvicorn's own handling of them."""


_STOPPING = (signal.SIGTERM, signal.SIGINT)


def _raise_stopped(signum: int, frame: FrameType | None) -> None:
    for number in _STOPPING:  # the first one stops; repeats must not cut the clean-up short
        signal.signal(number, signal.SIG_IGN)
    raise _Stopped


@contextmanager
def _stoppable() -> Iterator[None]:
    """End quietly, through every clean-up, on SIGTERM or SIGINT; then exit 0.

    uvicorn stops gracefully on either signal and then raises it again for the handler it found;
    Python's default SIGTERM handler would end the process on the spot, leaving the scratch
    folders (the exported model, the Prometheus files) behind. A stop often comes more than once
    (`make serve` stopped by a process-group signal: make passes one on, `uv run` forwards each
    it gets, and the group's reaches the server too), so once stopping, repeats are ignored until
    the process ends: a late one would otherwise kill it (exit 143, make's `Error 143`).
    """
    if threading.current_thread() is not threading.main_thread():  # signals go to the main one
        yield
        return
    previous = {number: signal.signal(number, _raise_stopped) for number in _STOPPING}
    try:
        yield
    except _Stopped:
        pass
    finally:
        for number, handler in previous.items():
            if signal.getsignal(number) is _raise_stopped:  # no stop came, and nobody took over
                signal.signal(number, handler)


def serve(model: str | None, host: str, port: int, workers: int) -> None:
    """Fetch `model` (default: MODEL_URI), or use MODEL_DIR's, and serve it until SIGTERM/SIGINT.

    Settings come from `ServiceSettings`' sources; a bad setting or a failed start-up is a
    UserError. A signal ends it with everything it made removed.
    """
    uri, folder = model or os.environ.get("MODEL_URI"), os.environ.get("MODEL_DIR")
    with _stoppable(), fetch_model(uri, folder) as fetch:
        from .settings import ServiceSettings  # pydantic: imported once the export has started

        settings = ServiceSettings.from_env(**({"model_uri": model} if model else {}))
        run(settings, fetch, host, port, workers)


def check_model(settings: ServiceSettings) -> exported_model.Bundle:
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
    check_features(info)
    return bundle


def check_features(info: exported_model.ModelInfo) -> None:
    """The version was trained on the features schema.yaml defines now (requests follow it)."""
    trained = {column["name"] for column in info.signature.get("inputs") or []}
    current = set(feature_names())
    if trained and trained != current:
        lost, new = sorted(trained - current), sorted(current - trained)
        differences = [
            *([f"no longer has {', '.join(lost[:5])}"] if lost else []),
            *([f"now also has {', '.join(new[:5])}"] if new else []),
        ]
        raise UserError(
            f"{info.uri} was trained on other features: schema.yaml {' and '.join(differences)}; "
            "serve a version trained with this schema.yaml"
        )


def check_log_folder(settings: ServiceSettings) -> None:
    """Fail now, not in a worker, if the prediction log folder cannot be written."""
    writer = PredictionLogWriter(settings.prediction_log_dir, settings.prediction_log_max_bytes)
    writer.start()
    writer.close()


@contextmanager
def _metrics_folder(workers: int) -> Iterator[None]:
    """Several workers: a fresh PROMETHEUS_MULTIPROC_DIR for them to share, removed at the end.

    One worker serves from this process, which imported prometheus_client long ago, so it keeps
    its values in memory and the variable is unset (see `prometheus`).
    """
    from .prometheus import MULTIPROCESS_ENV

    if workers == 1:
        os.environ.pop(MULTIPROCESS_ENV, None)
        yield
        return
    folder = Path(tempfile.mkdtemp(prefix="{{ cookiecutter.project_slug }}-serve-"))
    os.environ[MULTIPROCESS_ENV] = str(folder)
    try:
        yield
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _listening_socket(host: str, port: int) -> socket.socket:
    """A socket bound to host:port that other sockets may bind too (SO_REUSEPORT)."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        raise UserError(f"cannot listen on {host}:{port}: {error.strerror}") from None
    sock.set_inheritable(True)
    return sock


def _supervisor(config: uvicorn.Config) -> Multiprocess:
    """The supervisor of `config.workers` uvicorn workers, each with its own socket on Linux.

    Workers sharing one socket share the load badly: asyncio accepts every pending connection
    when it wakes, so the first worker to wake takes a whole burst (measured with 2 workers and
    16 keep-alive connections: one worker answered 87-100 % of the requests). On Linux, workers
    each listening on their own SO_REUSEPORT socket get new connections spread evenly by the
    kernel. uvicorn hands `sockets` to each worker it starts (at start-up, to replace one that
    died, on SIGHUP or SIGTTIN), so each read makes a new socket; the bound sockets the parent
    keeps do not listen and so take no connections.
    """
    from uvicorn.supervisors import Multiprocess

    if not sys.platform.startswith("linux"):  # elsewhere SO_REUSEPORT does not balance
        return Multiprocess(config, sockets=[config.bind_socket()])

    class OwnSockets(Multiprocess):
        @property
        def sockets(self) -> list[socket.socket]:
            return [_listening_socket(config.host, config.port)]

        @sockets.setter
        def sockets(self, value: list[socket.socket]) -> None:
            pass

    _listening_socket(config.host, config.port).close()  # a port in use fails here, in one line
    return OwnSockets(config, sockets=[])


def run(settings: ServiceSettings, fetch: ModelFetch, host: str, port: int, workers: int) -> None:
    """Check, then serve the fetched model until SIGTERM/SIGINT; UserError if start-up fails."""
    import uvicorn
    from uvicorn.config import STARTUP_FAILURE

    from .app import create_app

    exported_model.import_model_reader()  # while the export (if any) is still running
    model_dir = fetch.model_dir(settings.model_uri, settings.model_dir)
    settings = settings.model_copy(update={"model_dir": model_dir})
    with _metrics_folder(workers):
        bundle = check_model(settings)
        info = bundle[0]
        check_log_folder(settings)
        os.environ.update(settings.to_env())
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
            log_config=logs.dict_config(),  # uvicorn's lines in the project's format, workers too
            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        )
        if workers == 1:
            server = uvicorn.Server(config)
            server.run()
            started = server.started
        else:
            supervisor = _supervisor(config)
            supervisor.run()
            started = all(p.exitcode != STARTUP_FAILURE for p in supervisor.processes)
        if not started:
            raise UserError(f"the server for {info.uri} did not start; see the lines above")
