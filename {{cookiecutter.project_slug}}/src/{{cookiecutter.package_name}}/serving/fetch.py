"""Fetch the model to serve: export it from the registry in a worker process, or use MODEL_DIR's.

An export through MLflow spends most of its time importing MLflow (from the embedded registry,
`io.sqlite_registry` exports without MLflow where it can); start-up spends most of its time
importing pydantic, FastAPI and scikit-learn. `fetch_model` therefore starts the export first,
from the raw MODEL_URI and MODEL_DIR, in a one-process pool (`ProcessPoolExecutor`, spawned)
before any of those imports, so that the two run side by side; this module imports nothing
heavy for that reason. `ModelFetch.model_dir` then takes the validated settings: it waits for
the export if they name what was started, and otherwise (a value read from `.env` or the
secrets folder) fetches what they name. The worker returns the export's `ModelInfo` once the
folder is complete, or raises the UserError that says what went wrong; its own output goes to a
file, read only to explain a worker that died.
"""

import multiprocessing
import os
import shutil
import tempfile
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from multiprocessing.process import BaseProcess
from pathlib import Path

from ..core.errors import UserError
from ..core.model_uri import FORMS
from ..io.exported_model import ModelInfo, has_bundle
from ..io.sqlite_registry import export_version


def _export(uri: str, folder: Path) -> ModelInfo:
    """In the worker: export the version; any failure comes back as one UserError line.

    From the embedded registry `sqlite_registry` writes the folder without importing MLflow
    where it can; otherwise, and for any other registry, MLflow does (`registry.export_model`).
    """
    try:
        info = export_version(uri, folder)
        if info is not None:
            return info
        from ..io.registry import export_model

        return export_model(uri, folder)
    except UserError:
        raise
    except ModuleNotFoundError as error:  # an environment without the `registry` group
        raise UserError(
            f"cannot load model {uri}: {error.name} is not installed; install the registry group "
            "(uv sync --group registry) or serve an exported folder (MODEL_DIR)"
        ) from None
    except Exception as error:  # the registry's own errors, e.g. a server that does not answer
        lines = str(error).strip().splitlines() or [type(error).__name__]
        raise UserError(f"cannot load model {uri}: {lines[0]}") from None


def _redirect_output(path: str) -> None:
    """Pool initializer: the worker's stdout and stderr go to a file instead of the terminal."""
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND)
    os.dup2(descriptor, 1)
    os.dup2(descriptor, 2)
    os.close(descriptor)


class ModelFetch:
    """The model to serve: an export under way in a worker process, or an exported folder."""

    def __init__(self, scratch: Path) -> None:
        self._scratch = scratch
        self._output = scratch / "export.log"
        self._pool: ProcessPoolExecutor | None = None
        self._workers: list[BaseProcess] = []
        self._result: Future[ModelInfo] | None = None
        self._started: tuple[str, Path | None] | None = None

    def start(self, uri: str | None, folder: Path | None) -> None:
        """Start exporting `uri` into `folder` (default: a scratch folder), if there is one to."""
        if not uri or (folder is not None and has_bundle(folder)):
            return
        self._output.touch()
        self._pool = ProcessPoolExecutor(
            1,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_redirect_output,
            initargs=(str(self._output),),
        )
        self._result = self._pool.submit(_export, uri, self._target(folder))
        self._workers = [*self._pool._processes.values()]  # started by `submit`
        self._started = (uri, folder)

    def model_dir(self, uri: str | None, folder: Path | None) -> Path:
        """The folder holding the model these settings name, once it is there.

        `folder` holding an exported model is served as it is; otherwise `uri` is exported into
        it (or into a scratch folder), by the export already under way when it is the same one.
        """
        if self._started != (uri, folder):
            self.stop()
            if folder is not None and has_bundle(folder):
                return folder
            if not uri:
                raise UserError(f"no model to serve: set MODEL_URI ({FORMS})")
            self.start(uri, folder)
        assert self._pool is not None and self._result is not None
        try:
            self._result.result()
        except BrokenProcessPool:
            raise UserError(f"cannot load model {uri}: {self._last_output()}") from None
        finally:
            self._pool.shutdown(wait=False)  # the worker exits at once; `stop` waits for it
        return self._target(folder)

    def stop(self) -> None:
        """Stop an export still under way; return once its worker process has exited."""
        pool, workers = self._pool, self._workers
        self._pool, self._workers, self._started = None, [], None
        if pool is None:
            return
        if self._result is not None and not self._result.done():
            for worker in workers:  # what `ProcessPoolExecutor.kill_workers()` does (3.14+)
                worker.kill()
        pool.shutdown(wait=True, cancel_futures=True)
        for worker in workers:
            worker.join()

    def _target(self, folder: Path | None) -> Path:
        return folder if folder is not None else self._scratch / "model"

    def _last_output(self) -> str:
        """The last line the dead worker wrote, if any."""
        lines = self._output.read_text(errors="replace").strip().splitlines()
        return lines[-1].strip() if lines else "the export stopped"


@contextmanager
def fetch_model(model_uri: str | None, model_dir: str | None) -> Iterator[ModelFetch]:
    """Start fetching from raw values (empty means unset); stop the worker and clean up after."""
    scratch = Path(tempfile.mkdtemp(prefix="{{ cookiecutter.project_slug }}-model-"))
    fetch = ModelFetch(scratch)
    try:
        fetch.start(model_uri or None, Path(model_dir) if model_dir else None)
        yield fetch
    finally:
        fetch.stop()
        shutil.rmtree(scratch, ignore_errors=True)
