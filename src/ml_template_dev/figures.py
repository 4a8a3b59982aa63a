"""What every benchmark script shares: where its figures go."""

import json
from pathlib import Path
from typing import Any


def write_figures(path: Path, results: dict[str, Any]) -> None:
    """Write a benchmark's figures as JSON (next to the table it printed) and say where."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nfigures written to {path}")
