"""Regenerate the generated project's lock files, one per `python_min` choice (maintainers only).

    uv run python scripts/lock.py [--upgrade]

For each minimum Python the template offers, it renders a project with default answers, copies in
the current lock (so versions only move with --upgrade), runs `uv lock` with a matching
interpreter, and stores the result as the template's lock for that choice with the project's name
replaced by its template variable. Every generated project then installs exactly what the
template's CI tested: `uv sync --locked`.
"""

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from ml_template_dev import ROOT, TEMPLATE, UV
from ml_template_dev.pythons import interpreter
from ml_template_dev.questions import choices
from ml_template_dev.render import render_copier

DEFAULT_SLUG = "my-ml-project"
SLUG_LINE = f'name = "{DEFAULT_SLUG}"'
TEMPLATE_SLUG_LINE = 'name = "{{ cookiecutter.project_slug }}"'


def lock_path(python_min: str) -> Path:
    """The template file holding the lock for one minimum Python version."""
    return TEMPLATE / f"{{% if cookiecutter.python_min == '{python_min}' %}}uv.lock{{% endif %}}"


def relock(python_min: str, upgrade: bool, workdir: Path) -> None:
    """Render, lock and store the lock for one minimum Python version."""
    target = workdir / python_min
    render_copier(target, {"python_min": python_min})
    stored = lock_path(python_min)
    if stored.exists() and not upgrade:
        text = stored.read_text().replace(TEMPLATE_SLUG_LINE, SLUG_LINE)
        (target / "uv.lock").write_text(text)
    command = [*UV, "lock", "--python", interpreter(python_min)]
    subprocess.run([*command, *(["--upgrade"] if upgrade else [])], cwd=target, check=True)
    text = (target / "uv.lock").read_text()
    if text.count(SLUG_LINE) != 1:
        sys.exit(f"error: expected one '{SLUG_LINE}' in the lock for {python_min}")
    stored.write_text(text.replace(SLUG_LINE, TEMPLATE_SLUG_LINE))
    print(f"locked Python >= {python_min} -> {stored.relative_to(ROOT)}")


def main() -> None:
    """Parse arguments and relock every choice."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--upgrade", action="store_true", help="move every dependency to its newest"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        for python_min in choices("python_min"):
            relock(python_min, args.upgrade, Path(workdir))


if __name__ == "__main__":
    main()
