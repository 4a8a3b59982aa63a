"""Fetch the model to serve in a child process, while `serve` imports the service.

Exporting a version from the registry spends most of its time importing MLflow; starting the
service spends most of its time importing scikit-learn and FastAPI. Run as `export-model` in a
child process, the export overlaps those imports on another core, so start-up takes the longer
of the two instead of their sum. The export is the longer one, so it starts first, from the raw
MODEL_URI and MODEL_DIR, before anything else is imported or validated: this module imports
nothing heavy (not even pydantic) for that reason.
"""

import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from ..core.errors import UserError
from ..io.exported_model import has_bundle

EXPORT_COMMAND = [sys.executable, "-m", "{{ cookiecutter.package_name }}", "export-model"]


class ModelFetch:
    """A model export under way (or none needed); `model_dir()` waits for it."""

    def __init__(
        self,
        folder: Path,
        process: subprocess.Popen[str] | None = None,
        errors: IO[str] | None = None,
        uri: str = "",
    ) -> None:
        self._folder = folder
        self._process = process
        self._errors = errors
        self._uri = uri

    def model_dir(self) -> Path:
        """Wait for the export; the folder that holds the exported model."""
        if self._process is None:
            return self._folder
        assert self._process.stdout is not None
        # The export's one line on stdout means the folder is complete: no need to wait while
        # the child process shuts down.
        if self._process.stdout.readline().startswith("exported ") or self._process.wait() == 0:
            return self._folder
        output = ""
        if self._errors is not None:
            self._errors.seek(0)
            output = self._errors.read()
        raise UserError(_failure(self._uri, output))


def _failure(uri: str, stderr: str) -> str:
    """The export's own one-line error, or what is left of its output."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    for line in lines:
        if line.startswith("error: "):
            return line.removeprefix("error: ")
    return f"cannot load model {uri}: " + (lines[-1] if lines else "the export stopped")


@contextmanager
def fetch_model(model_uri: str | None, model_dir: str | None) -> Iterator[ModelFetch]:
    """Start exporting MODEL_URI unless MODEL_DIR already holds an export; clean up after.

    The values are the raw settings (empty means unset); `Settings` validates them meanwhile,
    and a bad value stops the export.
    """
    folder = Path(model_dir) if model_dir else None
    if folder is not None and has_bundle(folder):
        yield ModelFetch(folder)
        return
    if not model_uri:
        raise UserError(
            "no model to serve: set MODEL_URI (models:/<name>/<version> or models:/<name>@<alias>)"
        )
    scratch = None
    if folder is None:
        scratch = Path(tempfile.mkdtemp(prefix="{{ cookiecutter.project_slug }}-model-"))
        folder = scratch / "model"
    command = [*EXPORT_COMMAND, "--model", model_uri, "--out", str(folder)]
    with tempfile.TemporaryFile("w+") as errors:  # a file, not a pipe: the child never blocks
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors, text=True)
        try:
            yield ModelFetch(folder, process, errors, model_uri)
        finally:
            if process.poll() is None:  # start-up stopped early, or the child is still exiting
                process.kill()
            process.wait()
            if process.stdout is not None:
                process.stdout.close()
            if scratch is not None:
                shutil.rmtree(scratch, ignore_errors=True)
