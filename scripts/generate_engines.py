"""Write copier.yml, cookiecutter.json and hooks/pre_gen_project.py from questions.yml.

    make engines       (or: uv run python scripts/generate_engines.py [--check])

questions.yml is the one place where the template's questions, defaults, choices, answer rules
(with their messages) and version are written; the three engine files are generated from it and
committed. --check writes nothing and exits 1 when a committed file differs from what it gives.
"""

import argparse
import sys

from ml_template_dev import engines
from ml_template_dev.questions import QuestionsError


def main() -> None:
    """Parse arguments; check or write the engine files."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if a generated file is stale; write nothing"
    )
    args = parser.parse_args()
    try:
        changed = engines.stale() if args.check else engines.write()
    except QuestionsError as error:
        sys.exit(f"error: {error}")
    if args.check and changed:
        sys.exit(f"error: {', '.join(changed)} differ from questions.yml: run `make engines`")
    for name in changed:
        print(f"wrote {name}")
    if not changed:
        print(f"{', '.join(engines.OUTPUTS)}: up to date with questions.yml")


if __name__ == "__main__":
    main()
