"""The one-line error messages a generated project can print, read from its template's code.

Every `UserError(...)` raised in the generated package is a message the CLI prints as
`error: <message>` (exit 2). `user_errors` renders each module of the template with Jinja (both
problem types), parses it and returns each message as a skeleton: its literal text, with `…` where
the code puts a value. The docs site's troubleshooting page lists them (docs/hooks.py) and
tests/test_docs.py checks that no message is left out and none is unreadable.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, StrictUndefined

from ml_template_dev import TEMPLATE
from ml_template_dev.questions import QUESTIONS, VERSION, choices

PACKAGE = TEMPLATE / "src" / "{{cookiecutter.package_name}}"
HOLE = "…"


@dataclass(frozen=True)
class Message:
    """One message: its skeleton (`…` for each value), the module and line that raise it."""

    text: str
    module: str
    line: int

    @property
    def step(self) -> str:
        """The package folder (or module) the message belongs to: core, io, serving, ..."""
        return self.module.split("/")[0].removesuffix(".py")


class UnreadableMessage(ValueError):
    """A `UserError(...)` whose message is not a string the code spells out."""


def _context(problem_type: str) -> dict[str, object]:
    answers = QUESTIONS.defaults(problem_type=problem_type)
    return {"cookiecutter": {**answers, "_template_version": VERSION, "__answers": ""}}


def _skeleton(node: ast.expr, where: str) -> str:
    """The literal text of a message expression, `…` for every value it formats in."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(
            part.value if isinstance(part, ast.Constant) else HOLE for part in node.values
        )
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _skeleton(node.left, where) + _skeleton(node.right, where)
    raise UnreadableMessage(f"{where}: the UserError message is not spelled out in the code")


def _messages(source: str, module: str) -> list[Message]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "UserError"
        ):
            where = f"{module}:{node.lineno}"
            if len(node.args) != 1:
                raise UnreadableMessage(f"{where}: UserError takes one message")
            found.append(Message(_skeleton(node.args[0], where), module, node.lineno))
    return found


def modules(problem_type: str, package: Path = PACKAGE) -> dict[str, str]:
    """The package's Python modules as a project of that problem type has them (path -> code)."""
    environment = Environment(undefined=StrictUndefined, keep_trailing_newline=True)
    return {
        path.relative_to(package).as_posix(): environment.from_string(
            path.read_text(encoding="utf-8")
        ).render(_context(problem_type))
        for path in sorted(package.rglob("*.py"))
    }


def raised(problem_type: str, package: Path = PACKAGE) -> list[Message]:
    """Every `UserError(...)` call of a project of that problem type, repeats included."""
    return [
        message
        for module, source in modules(problem_type, package).items()
        for message in _messages(source, module)
    ]


def user_errors(package: Path = PACKAGE) -> list[Message]:
    """Every distinct message of the generated package (both problem types), in module order."""
    seen: dict[str, Message] = {}
    for problem_type in choices("problem_type"):
        for message in raised(problem_type, package):
            seen.setdefault(message.text, message)
    return sorted(seen.values(), key=lambda message: (message.module, message.line))
