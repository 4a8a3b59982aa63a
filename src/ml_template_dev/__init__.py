"""ml-template's own development helpers, in one importable place for tests, scripts, benchmarks.

Installed editable into the template's dev environment by `uv sync` (never published): the
helpers find the template next to their source, so they only work from a checkout.
"""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
"""The template repository's root (the folder holding copier.yml)."""
TEMPLATE = ROOT / "{{cookiecutter.project_slug}}"
"""The generated project's template tree."""
UV = os.environ.get("UV", "uv").split()
"""The uv command: `make` exports UV (a pip-installed uv may not be on PATH)."""

if not (ROOT / "questions.yml").is_file():
    raise ImportError(
        f"ml_template_dev works only from a template checkout ({ROOT} has no questions.yml): "
        "install it editable with `uv sync` in the template repository."
    )
