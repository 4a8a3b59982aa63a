"""Render the template with copier or cookiecutter through their Python APIs, isolated."""

import itertools
import os
from pathlib import Path
from typing import Any

import copier
import yaml
from cookiecutter.main import cookiecutter

from ml_template_dev import ROOT

QUESTIONS = yaml.safe_load((ROOT / "copier.yml").read_text())
ANSWERS_FILE = ".copier-answers.yml"


def choices(name: str) -> list[str]:
    """The choices copier.yml offers for a question."""
    return [str(choice) for choice in QUESTIONS[name]["choices"]]


def all_combinations() -> list[dict[str, str]]:
    """Every combination of the multiple-choice answers."""
    names = [
        name for name, spec in QUESTIONS.items() if isinstance(spec, dict) and "choices" in spec
    ]
    return [
        dict(zip(names, values, strict=True))
        for values in itertools.product(*(choices(name) for name in names))
    ]


def combination_id(answers: dict[str, str]) -> str:
    """A short test id for a combination of answers."""
    return "-".join(answers.values())


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
    project = cookiecutter(
        str(ROOT),
        no_input=True,
        extra_context=answers or {},
        output_dir=str(output),
        config_file=str(config),
    )
    return Path(project)


def tree(root: Path) -> dict[str, bytes]:
    """Every file under root (relative path -> bytes), skipping tool caches and virtualenvs."""
    skip = {".venv", ".cc-cache", ".cc-replay", "__pycache__", ".mypy_cache", ".ruff_cache"}
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file() and not skip & set(path.relative_to(root).parts)
    }
