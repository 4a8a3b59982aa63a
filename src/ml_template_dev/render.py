"""Render the template with copier or cookiecutter through their Python APIs, isolated."""

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import copier
import yaml
from cookiecutter.main import cookiecutter

from ml_template_dev import ROOT
from ml_template_dev.questions import ANSWERS_FILE

__all__ = ["ANSWERS_FILE", "isolate", "render_cookiecutter", "render_copier", "tree"]


def isolate(home: Path) -> None:
    """Point copier at settings that trust nothing: no user setting hides an unsafe feature."""
    settings = home / "copier-settings.yml"
    settings.write_text("trust: []\n")
    os.environ["COPIER_SETTINGS_PATH"] = str(settings)


def render_copier(destination: Path, answers: dict[str, Any] | None = None) -> Path:
    """Render with copier (unsafe=False) from the template's HEAD plus any uncommitted changes."""
    copier.run_copy(
        str(ROOT),
        destination,
        data=answers or {},
        defaults=True,
        unsafe=False,
        vcs_ref="HEAD",
        quiet=True,
    )
    return destination


def render_cookiecutter(output: Path, answers: dict[str, Any] | None = None) -> Path:
    """Render with cookiecutter into `output`, with a private config (no user replay or cache)."""
    config = output.parent / f"{output.name}-cookiecutter.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "cookiecutters_dir": str(output / ".cc-cache"),
                "replay_dir": str(output / ".cc-replay"),
            }
        )
    )
    with _scratch_tempdir(output.parent / f"{output.name}-cookiecutter-tmp"):
        project = cookiecutter(
            str(ROOT),
            no_input=True,
            extra_context=answers or {},
            output_dir=str(output),
            config_file=str(config),
        )
    return Path(project)


@contextmanager
def _scratch_tempdir(folder: Path) -> Iterator[None]:
    """Point `tempfile` at a folder removed afterwards: cookiecutter leaves its hook copies."""
    folder.mkdir(parents=True, exist_ok=True)
    previous, tempfile.tempdir = tempfile.tempdir, str(folder)
    try:
        yield
    finally:
        tempfile.tempdir = previous
        shutil.rmtree(folder, ignore_errors=True)


def tree(root: Path) -> dict[str, bytes]:
    """Every file under root (relative path -> bytes), skipping tool caches and virtualenvs."""
    skip = {".venv", ".cc-cache", ".cc-replay", "__pycache__", ".mypy_cache", ".ruff_cache"}
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file() and not skip & set(path.relative_to(root).parts)
    }
