"""A team's own table, which the template did not design for, and the how-to that adopts it.

`write_table` makes a CSV with awkward column names (spaces, punctuation, accents, SQL keywords),
numbers and categories with missing values and no id column; `howto_commands` reads the shell
commands of the generated project's docs/bring-your-own-data.md, so a test runs them as written.
"""

import csv
import random
import re
from pathlib import Path
from typing import Any

HOWTO = Path("docs") / "bring-your-own-data.md"
# Feature columns of the table, and its target per problem type.
FEATURES = ("Monthly Spend (€)", "région", "select", "plan.type", 'say "hi"', "Größe in cm")
TARGETS = {"classification": "Churned?", "regression": "Lifetime value (€)"}


def write_table(path: Path, problem_type: str, rows: int = 3000, seed: int = 7) -> list[dict]:
    """Write the table as CSV; return its rows without the target, typed as /predict takes them."""
    rng = random.Random(seed)
    records: list[dict[str, Any]] = []
    for _ in range(rows):
        spend = round(rng.gammavariate(2.0, 30.0), 2)
        region = rng.choice(["nørd", "süd", "O'st", None])
        orders = None if rng.random() < 0.1 else rng.randint(0, 49)
        plan = rng.choice(["a", "b"])
        noise = round(rng.gauss(0.0, 1.0), 3)
        height = None if rng.random() < 0.05 else round(rng.gauss(172.0, 9.0), 1)
        signal = 0.03 * spend - 0.05 * (orders if orders is not None else 25) + (region == "süd")
        signal += rng.gauss(0.0, 1.0)
        record = dict(zip(FEATURES, (spend, region, orders, plan, noise, height), strict=True))
        if problem_type == "classification":
            record[TARGETS[problem_type]] = "yes" if signal > 0.3 else "no"
        else:
            record[TARGETS[problem_type]] = round(100.0 + 40.0 * signal, 2)
        records.append(record)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, fieldnames=[*FEATURES, TARGETS[problem_type]])
        writer.writeheader()
        writer.writerows(records)
    target = TARGETS[problem_type]
    return [{name: value for name, value in record.items() if name != target} for record in records]


def howto_commands(project: Path) -> list[tuple[str, int]]:
    """The how-to's `bash` blocks, one (command, expected exit code) per line, in order.

    A command's comment saying "exits N" expects that code; every other command must succeed.
    """
    text = (project / HOWTO).read_text(encoding="utf-8")
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.DOTALL):
        for line in block.splitlines():
            if line.strip() and not line.lstrip().startswith("#"):
                expected = re.search(r"#.*\bexits (\d+)", line)
                commands.append((line, int(expected.group(1)) if expected else 0))
    return commands


def assignment(command: str) -> tuple[str, str] | None:
    """`NAME=value   # comment` -> (NAME, value); None for any other command."""
    found = re.match(r"^([A-Z_]+)=(\S+)\s*(#.*)?$", command)
    return (found.group(1), found.group(2)) if found else None
