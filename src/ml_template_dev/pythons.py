"""Find a local Python interpreter for one of the template's `python_min` choices."""

import os
import subprocess
import sys
from pathlib import Path

from ml_template_dev import UV


def interpreter(version: str) -> str:
    """A local interpreter for `version`: uv's discovery, then pyenv's folders (PYENV_ROOT)."""
    found = subprocess.run(
        [*UV, "python", "find", "--no-python-downloads", version],
        capture_output=True,
        text=True,
        check=False,
    )
    if found.returncode == 0:
        return found.stdout.strip()
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates = sorted(pyenv.glob(f"versions/{version}.*/bin/python{version}"))
    if not candidates:
        sys.exit(f"error: no Python {version} here; install it (e.g. pyenv install {version})")
    return str(candidates[-1])
