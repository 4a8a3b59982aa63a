"""The getting-started pages as scripts: their `console` blocks, commands and what they print.

In docs/getting-started.md (the template's) and a project's docs/getting-started.md, a fenced
`console` block holds commands (lines after `$ `), each followed by lines its output must contain
(`…` matches anything within a line). tests/test_getting_started.py runs the template's page in
one shell on a fresh render, then the project's page in that project, and checks the lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ml_template_dev import ROOT

PAGE = ROOT / "docs" / "getting-started.md"
STEP = "@@ getting-started step {} @@"


@dataclass(frozen=True)
class Command:
    """One command of the page and the output lines the page promises."""

    line: str
    expected: tuple[str, ...]

    def pattern(self, expected: str) -> re.Pattern[str]:
        """An expected line as a pattern: literal text, `…` for anything within the line."""
        return re.compile(".*".join(map(re.escape, expected.split("…"))))

    def missing(self, output: str) -> list[str]:
        """The expected lines that the output does not contain."""
        return [line for line in self.expected if not self.pattern(line).search(output)]


def commands(page: Path = PAGE) -> list[Command]:
    """Every command of the page's `console` blocks, in order, with its expected lines."""
    found: list[tuple[str, list[str]]] = []
    for block in re.findall(r"```console\n(.*?)```", page.read_text(encoding="utf-8"), re.DOTALL):
        for line in block.splitlines():
            if line.startswith("$ "):
                found.append((line[2:], []))
            elif line.strip():
                if not found:
                    raise ValueError(f"{page.name}: output line {line!r} before any command")
                found[-1][1].append(line.strip())
    return [Command(line, tuple(expected)) for line, expected in found]


def replaced(steps: list[Command], old: str, new: str) -> list[Command]:
    """The commands with `old` replaced by `new` in each line and each expected line."""
    return [
        Command(step.line.replace(old, new), tuple(e.replace(old, new) for e in step.expected))
        for step in steps
    ]


def readme_commands(readme: Path) -> list[str]:
    """The commands of a project README's `## Start` section (its `bash` blocks), no comments."""
    start = readme.read_text(encoding="utf-8").split("\n## Start\n", 1)[1].split("\n## ", 1)[0]
    lines = "\n".join(re.findall(r"```bash\n(.*?)```", start, re.DOTALL)).splitlines()
    return [re.split(r"\s+# ", line)[0].strip() for line in lines if line.strip()]


def script(steps: list[Command]) -> str:
    """A bash script running the commands in order, marking where each one's output starts.

    A mark starts a line of its own even after an output without a final newline (`curl`'s).
    """
    lines = ["set -euo pipefail"]
    for number, step in enumerate(steps):
        lines += [f"printf '\\n%s\\n' '{STEP.format(number)}'", step.line]
    return "\n".join(lines) + "\n"


def outputs(text: str, count: int) -> list[str]:
    """The script's output cut into each command's output (empty for those that never ran)."""
    parts = re.split(r"^@@ getting-started step (\d+) @@$", text, flags=re.MULTILINE)
    result = [""] * count
    for number, output in zip(parts[1::2], parts[2::2], strict=True):
        result[int(number)] = output
    return result
