"""`make demo`: render a project with default answers and run the newcomer's whole loop on it.

    uv run python scripts/demo.py [DESTINATION]

Renders with copier (no --trust) into DESTINATION (default: a new temporary folder, kept so you can
look around), then with the project's own make targets: installs the locked environment, trains
configs/v1.yaml (features, training, a registered version), promotes that version to champion,
serves it, replays the sample table through the service, runs the monitoring job on the logged
predictions and starts the MLflow UI. It prints where the registry UI, the service, the drift
report and the prediction log are; on a terminal it keeps the service and the UI up until you
press Enter (or Ctrl-C). Whatever it started is stopped at the end, on an error and on Ctrl-C.
"""

import sys
import tempfile
from pathlib import Path

from ml_template_dev.loop import LoopError, fail, newcomer_loop, processes


def destination() -> Path:
    """The folder to render into: the argument (new or empty), else a new temporary folder."""
    if len(sys.argv) > 1:
        folder = Path(sys.argv[1]).resolve()
        if folder.exists() and any(folder.iterdir()):
            sys.exit(f"error: {folder} is not empty; name a new folder")
        return folder
    return Path(tempfile.mkdtemp(prefix="ml-template-demo-")) / "my-ml-project"


def demo(project: Path) -> None:
    """Run the loop in `project`, print where everything is, then stop what it started."""
    with processes() as children:
        done = newcomer_loop(project, children)
        name = done.model.split("/")[1]
        print(
            f"""
Done: a served, monitored champion. Everything is in {project}:
  registry UI      {done.registry}/#/models/{name}  (mlflow.db + mlartifacts/)
  service          {done.service}/docs  (POST {done.service}/predict, GET {done.service}/model)
  drift report     {done.report}
  prediction log   {project / "logs/predictions"}/*.jsonl
  next             cd {project} && make help"""
        )
        if sys.stdin.isatty():
            input("\nThe service and the registry UI run until you press Enter (or Ctrl-C). ")
    print("stopped the service and the registry UI")


def main() -> None:
    """Run the demo; one line on a failed step or Ctrl-C, after stopping what it started."""
    try:
        demo(destination())
    except (LoopError, KeyboardInterrupt) as error:
        fail(error)


if __name__ == "__main__":
    main()
