"""`make demo`: render a project with default answers and run its loop on the embedded defaults.

    uv run python scripts/demo.py [DESTINATION]

Renders with copier (no --trust) into DESTINATION (default: a new temporary folder, kept so you can
look around), installs the locked environment, builds features, trains configs/v1.yaml and
registers a model version in the project's local MLflow registry, then prints where everything is.
"""

import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ml_template_dev import ROOT, UV
from ml_template_dev.render import render_copier


def step(title: str, command: list[str], cwd: Path) -> None:
    """Run one make target in the project, echoing it, and stop the demo if it fails."""
    print(f"\n==> {title}: {shlex.join(command)}", flush=True)
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env={**os.environ, "UV": " ".join(UV)}, check=False)
    if done.returncode != 0:
        sys.exit(f"error: '{shlex.join(command)}' failed in {cwd} (exit {done.returncode})")
    print(f"    ({time.perf_counter() - started:.1f} s)")


def main() -> None:
    """Render, run, report."""
    if len(sys.argv) > 1:
        destination = Path(sys.argv[1]).resolve()
        if destination.exists() and any(destination.iterdir()):
            sys.exit(f"error: {destination} is not empty; name a new folder")
    else:
        destination = Path(tempfile.mkdtemp(prefix="ml-template-demo-")) / "my-ml-project"
    print(f"==> render: copier copy {ROOT} {destination} (default answers)")
    render_copier(destination)

    step("install the locked environment", ["make", "setup"], destination)
    step("feature pipeline", ["make", "features"], destination)
    step("train, evaluate, register", ["make", "train"], destination)

    manifest = json.loads((destination / "data/features/v1/manifest.json").read_text())
    rows, fingerprint = manifest["rows"], manifest["fingerprint"][:12]
    print(
        f"""
Done. Everything is in {destination}:
  raw data        data/sample/customers.csv
  features        data/features/v1/features.parquet  ({rows} rows, fingerprint {fingerprint})
  manifest        data/features/v1/manifest.json
  registry        mlflow.db (SQLite) + mlartifacts/  -> model 'my-ml-project', version printed above
  browse it       cd {destination} && uv run mlflow ui --backend-store-uri sqlite:///mlflow.db
  next            cd {destination} && make ci"""
    )


if __name__ == "__main__":
    main()
