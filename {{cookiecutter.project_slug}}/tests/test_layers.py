"""The package's layers: imports only run downwards, and steps do not import each other.

core (pure definitions) <- io (the outside world) <- features <- the steps (training, release,
monitoring, serving, schema_infer, replay, batch) <- cli. Every import counts, also one inside a
function.
"""

import ast
from pathlib import Path

import pytest

from tests.helpers import PROJECT

PACKAGE = "{{ cookiecutter.package_name }}"
SOURCE = PROJECT / "src" / PACKAGE
STEPS = {"training", "release", "monitoring", "serving", "schema_infer", "replay", "batch"}
# What each layer may import from the package, besides itself and the package's __init__.
ALLOWED = {
    "core": {"core"},
    "io": {"core", "io"},
    "features": {"core", "io", "features"},
    **{step: {"core", "io", "features", step} for step in STEPS},
    "cli": {"core", "io", "features", *STEPS},
    "__main__": {"cli"},
}


def _layer(module: str) -> str:
    """`core.config` -> `core`; `features` -> `features`; the package itself -> ``."""
    return module.split(".")[0] if module else ""


def _module(path: Path) -> str:
    relative = path.relative_to(SOURCE).with_suffix("")
    parts = [p for p in relative.parts if p != "__init__"]
    return ".".join(parts)


def _is_module(name: str) -> bool:
    relative = Path(*name.split("."))
    return (SOURCE / relative).is_dir() or (SOURCE / relative).with_suffix(".py").is_file()


def _imports(path: Path, text: str | None = None) -> set[str]:
    """Package modules `path` (or `text` standing at `path`) imports, relative to the package."""
    module = _module(path)
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text() if text is None else text)):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                target = ".".join([*base, *(node.module.split(".") if node.module else [])])
            elif node.module and node.module.split(".")[0] == PACKAGE:
                target = node.module.removeprefix(PACKAGE).lstrip(".")
            else:
                continue
            # `from . import gate` imports the module `gate`; `from .x import name` imports `x`.
            for alias in node.names:
                child = f"{target}.{alias.name}".strip(".")
                found.add(child if _is_module(child) else target)
        elif isinstance(node, ast.Import):
            found |= {
                alias.name.removeprefix(PACKAGE).lstrip(".")
                for alias in node.names
                if alias.name.split(".")[0] == PACKAGE
            }
    return found


MODULES = sorted(SOURCE.rglob("*.py"))


def test_the_layout_has_every_layer() -> None:
    assert {_layer(_module(path)) for path in MODULES} >= {"core", "io", "features", *STEPS}


def _wrong_imports(path: Path, text: str | None = None) -> list[str]:
    layer = _layer(_module(path))
    # A module or folder of your own counts as a step: it may use core, io and features.
    allowed = ALLOWED.get(layer, {"core", "io", "features", layer}) | {""}
    return sorted(m for m in _imports(path, text) if _layer(m) not in allowed)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: _module(p) or "__init__")
def test_imports_only_run_downwards(path: Path) -> None:
    wrong = _wrong_imports(path)
    assert not wrong, f"{_module(path)} must not import {', '.join(wrong)}"


@pytest.mark.parametrize(
    ("module", "text", "wrong"),
    [
        ("core/config.py", "def f():\n    from ..io import registry\n", ["io.registry"]),
        ("io/data.py", "from ..features import build_features\n", ["features"]),
        ("monitoring/job.py", "from ..serving import app\n", ["serving.app"]),
        ("serving/app.py", f"import {PACKAGE}.training.train\n", ["training.train"]),
        ("release/gate.py", "from .. import cli\n", ["cli"]),
        ("release/promote.py", "from . import gate\nfrom ..features import split\n", []),
        ("own_step.py", "from .core import schema\nfrom .serving import app\n", ["serving.app"]),
    ],
)
def test_the_checker_flags_upward_and_sideways_imports(
    module: str, text: str, wrong: list[str]
) -> None:
    assert _wrong_imports(SOURCE / module, text) == wrong
