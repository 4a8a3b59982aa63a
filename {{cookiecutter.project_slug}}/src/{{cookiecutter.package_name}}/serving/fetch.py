"""Fetch the model to serve in a child process, while `serve` imports the service.

Exporting a version from the registry spends most of its time importing MLflow; starting the
service spends most of its time importing scikit-learn and FastAPI. Run as `export-model` in a
child process, the export overlaps those imports on another core, so start-up takes the longer
of the two instead of their sum. This module imports nothing heavy for that reason.
"""

import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from ..errors import UserError
from ..model_info import has_bundle
from .settings import Settings

EXPORT_COMMAND = [sys.executable, "-m", "{{ cookiecutter.package_name }}", "export-model"]


class ModelFetch:
    """A model export under way (or none needed); `settings()` waits for it."""

    def __init__(
        self,
        settings: Settings,
        process: subprocess.Popen[str] | None = None,
        errors: IO[str] | None = None,
    ) -> None:
        self._settings = settings
        self._process = process
        self._errors = errors

    def settings(self) -> Settings:
        """Wait for the export; the settings with MODEL_DIR pointing at the exported model."""
        if self._process is None:
            return self._settings
        assert self._process.stdout is not None
        # The export's one line on stdout means the folder is complete: no need to wait while
        # the child process tears MLflow down.
        if self._process.stdout.readline().startswith("exported ") or self._process.wait() == 0:
            return self._settings
        output = ""
        if self._errors is not None:
            self._errors.seek(0)
            output = self._errors.read()
        raise UserError(_failure(str(self._settings.model_uri), output))


def _failure(uri: str, stderr: str) -> str:
    """The export's own one-line error, or what is left of its output."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    for line in lines:
        if line.startswith("error: "):
            return line.removeprefix("error: ")
    return f"cannot load model {uri}: " + (lines[-1] if lines else "the export stopped")


@contextmanager
def fetch_model(settings: Settings) -> Iterator[ModelFetch]:
    """Start exporting MODEL_URI unless MODEL_DIR already holds an export; clean up after."""
    folder = settings.model_dir
    if folder is not None and has_bundle(folder):
        yield ModelFetch(settings)
        return
    if settings.model_uri is None:
        raise UserError(
            "no model to serve: set MODEL_URI (models:/<name>/<version> or models:/<name>@<alias>)"
        )
    scratch = None
    if folder is None:
        scratch = Path(tempfile.mkdtemp(prefix="{{ cookiecutter.project_slug }}-model-"))
        folder = scratch / "model"
    command = [*EXPORT_COMMAND, "--model-uri", settings.model_uri, "--out", str(folder)]
    with tempfile.TemporaryFile("w+") as errors:  # a file, not a pipe: the child never blocks
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors, text=True)
        try:
            yield ModelFetch(settings.model_copy(update={"model_dir": folder}), process, errors)
        finally:
            if process.poll() is None:  # start-up stopped early, or MLflow is still tearing down
                process.kill()
            process.wait()
            if process.stdout is not None:
                process.stdout.close()
            if scratch is not None:
                shutil.rmtree(scratch, ignore_errors=True)
