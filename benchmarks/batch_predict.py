"""Batch scoring benchmark: `predict` locally and on Spark vs a plain `mlflow.pyfunc` script.

    make bench-predict      (or: uv run python benchmarks/batch_predict.py [--rows N])

Renders a project with default answers, installs it with the `spark` group (`make setup-spark`),
trains `configs/v1.yaml` (version 1), and writes N raw rows (the project's seeded sample generator,
another seed) as a CSV. Then, once each, on this machine, from a fresh process:

- ours, local: `<slug> predict --model models:/<slug>/1 --input raw.csv --output out.parquet`
  (validation, features and scoring streamed in chunks of 100,000 rows);
- ours, Spark: the same with `--engine spark` (`local[2]`; session start-up included);
- plain: a script that loads the version with `mlflow.pyfunc.load_model`, builds the features of
  the whole table with the project's own pipeline (`build_features`, in memory) and writes
  `predict`'s labels with pandas: what a job without the batch step would do.

Wall time, rows per second and peak memory (the summed RSS of the command's process tree, the
JVM's included) come from `ml_template_dev.measure`; the 1-minute load average before each run is
recorded, since the machine may be shared. Nothing asserts; figures go to stdout and
`build/bench-predict.json`.
"""

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from ml_template_dev.figures import write_figures
from ml_template_dev.measure import measure, project_env
from ml_template_dev.render import isolate, render_copier

SLUG, PACKAGE = "my-ml-project", "my_ml_project"
MODEL = f"models:/{SLUG}/1"

# Runs in the project's environment: the plain load-and-predict script.
PLAIN = f"""
import sys
from pathlib import Path

import mlflow.pyfunc

from {PACKAGE}.core.config import load_config
from {PACKAGE}.core.schema import feature_names
from {PACKAGE}.features import build_features

raw, out = Path(sys.argv[1]), Path(sys.argv[2])
config = load_config(Path("configs/v1.yaml")).data
data = config.model_copy(update={{"raw_path": raw, "features_dir": out.parent / "plain-features"}})
features = build_features(data).frame
model = mlflow.pyfunc.load_model("{MODEL}")
features.assign(prediction=model.predict(features[feature_names()])).to_parquet(out, index=False)
"""


def prepare(work: Path, rows: int) -> tuple[Path, Path]:
    """Render, install (with Spark), train version 1, and write `rows` raw rows as a CSV."""
    project = render_copier(work / "project")
    env = project_env(project)
    subprocess.run(["make", "setup-spark", "init-registry"], cwd=project, env=env, check=True)
    subprocess.run(["make", "train"], cwd=project, env=env, check=True, capture_output=True)
    raw = project / "bench" / "raw.csv"
    python = str(project / ".venv" / "bin" / "python")
    generator = ["scripts/make_sample_data.py", "--rows", str(rows), "--seed", "7", "--out", raw]
    subprocess.run([python, *map(str, generator)], cwd=project, env=env, check=True)
    return project, raw


def run(project: Path, command: list[str | Path], rows: int) -> dict[str, Any]:
    """Measure one command; stop the benchmark if it failed."""
    result = measure(command, project)
    if result["returncode"] != 0:
        sys.exit(f"{command} failed ({result['returncode']}):\n{result['stderr']}")
    return {
        "seconds": result["seconds"],
        "rows_per_second": rows / result["seconds"],
        "peak_rss_mb": result["peak_rss_mb"],
        "load_before": result["load_before"],
    }


def main() -> None:
    """Run the three and print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--json", type=Path, default=Path("build/bench-predict.json"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ml-template-bench-predict-") as folder:
        work = Path(folder)
        isolate(work)
        project, raw = prepare(work, args.rows)
        cli = project / ".venv" / "bin" / SLUG
        python = project / ".venv" / "bin" / "python"
        predict = [cli, "predict", "--model", MODEL, "--input", raw]
        results = {
            "ours, local": run(project, [*predict, "--output", work / "local.parquet"], args.rows),
            "ours, Spark": run(
                project,
                [*predict, "--output", work / "spark.parquet", "--engine", "spark"],
                args.rows,
            ),
            "plain mlflow.pyfunc": run(
                project, [python, "-c", PLAIN, raw, work / "plain.parquet"], args.rows
            ),
        }
    print(f"| {args.rows:,} raw rows | wall | rows/s | peak RSS | load before |")
    print("|---|---|---|---|---|")
    for label, result in results.items():
        print(
            f"| {label} | {result['seconds']:.1f} s | {result['rows_per_second']:,.0f} "
            f"| {result['peak_rss_mb']:.0f} MB | {result['load_before']:.1f} |"
        )
    write_figures(args.json, {"rows": args.rows, **results})


if __name__ == "__main__":
    main()
