"""Template benchmarks, each reported as a ratio against a named baseline measured in the same run.

    make bench            (or: uv run python benchmarks/run.py [--repeat N] [--json PATH])

1. Render: copier (the primary engine) vs cookiecutter, same template and answers.
2. `make setup` (`uv sync --locked`, bytecode compiled) of a generated project into a new venv:
   warm uv cache vs an empty (cold) uv cache.
3. Smoke training run, process start -> registered model version (`python train.py -c
   configs/smoke.yaml`) vs a plain MLflow script doing the same fit and registration with MLflow's
   defaults (requirements inferred in a subprocess, cloudpickle). Target: <= 10 s on 2 cores.

Timings are medians of --repeat runs. Nothing here asserts; the numbers go in the closing notes.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from ml_template_dev import UV
from ml_template_dev.figures import write_figures
from ml_template_dev.render import isolate, render_cookiecutter, render_copier

NAIVE_TRAIN = """
import sys
from pathlib import Path

import mlflow
import mlflow.sklearn
import pandas as pd

from my_ml_project.core.estimators import build_pipeline
from my_ml_project.core.schema import feature_names, target

frame = pd.read_parquet("data/features/smoke/features.parquet")
model = build_pipeline("classification", "hist_gradient_boosting", {"max_iter": 50}, seed=42)
model.fit(frame[feature_names()], frame[target()])
mlflow.set_tracking_uri("sqlite:///mlflow.db")
mlflow.set_experiment("naive")
with mlflow.start_run():
    mlflow.sklearn.log_model(
        model, name="model", serialization_format="cloudpickle", registered_model_name="naive"
    )
"""


def timed(action: Callable[[], object], repeat: int) -> float:
    """Median wall time of `repeat` calls, in seconds."""
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def run(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> None:
    """Run a command quietly; fail loudly."""
    subprocess.run(command, cwd=cwd, env=env, check=True, capture_output=True)


def project_env(project: Path, **extra: str) -> dict[str, str]:
    """A clean environment for commands inside a generated project."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "MLFLOW_"))}
    return {**env, "UV_PROJECT_ENVIRONMENT": str(project / ".venv"), **extra}


def bench_render(work: Path, repeat: int) -> dict[str, float]:
    """Copier vs cookiecutter on default answers."""
    counter = iter(range(10_000))
    copier = timed(lambda: render_copier(work / f"copier-{next(counter)}"), repeat)
    cookiecutter = timed(lambda: render_cookiecutter(work / f"cc-{next(counter)}"), repeat)
    return {"copier_s": copier, "cookiecutter_s": cookiecutter}


def bench_sync(project: Path, repeat: int) -> dict[str, float]:
    """Warm-cache `make setup` into a new venv vs the same with an empty cache."""
    env = project_env(project, UV=" ".join(UV))

    def sync(cache: Path | None) -> None:
        shutil.rmtree(project / ".venv", ignore_errors=True)
        extra = {"UV_CACHE_DIR": str(cache)} if cache else {}
        run(["make", "setup"], project, {**env, **extra})

    sync(None)  # make sure the shared cache holds every wheel
    warm = timed(lambda: sync(None), repeat)
    cold = timed(lambda: sync(Path(tempfile.mkdtemp(prefix="uv-cold-"))), 1)
    sync(None)
    return {"warm_s": warm, "cold_cache_s": cold}


def bench_train(project: Path, repeat: int) -> dict[str, float]:
    """Our smoke training run vs a plain MLflow script with MLflow's defaults."""
    env = project_env(project)
    python = str(project / ".venv" / "bin" / "python")
    run([*UV, "run", "--locked", "python", "train.py", "-c", "configs/smoke.yaml"], project, env)
    ours = timed(
        lambda: run([python, "train.py", "--config", "configs/smoke.yaml"], project, env), repeat
    )
    (project / "naive_train.py").write_text(NAIVE_TRAIN)
    naive = timed(lambda: run([python, "naive_train.py"], project, env), repeat)
    return {"ours_s": ours, "mlflow_defaults_s": naive}


def main() -> None:
    """Run every benchmark and print a table of figures and ratios."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path, default=Path("build/bench.json"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ml-template-bench-") as folder:
        work = Path(folder)
        isolate(work)
        results = {"render": bench_render(work, args.repeat)}
        project = render_copier(work / "project")
        results["uv_sync_locked"] = bench_sync(project, args.repeat)
        results["smoke_train"] = bench_train(project, args.repeat)
    rows = [
        ("render (copier vs cookiecutter)", results["render"], "copier_s", "cookiecutter_s"),
        (
            "make setup: uv sync --locked (warm vs cold cache)",
            results["uv_sync_locked"],
            "warm_s",
            "cold_cache_s",
        ),
        (
            "smoke train -> registered (ours vs MLflow defaults)",
            results["smoke_train"],
            "ours_s",
            "mlflow_defaults_s",
        ),
    ]
    print(f"| benchmark (median of {args.repeat}) | ours | baseline | ours / baseline |")
    print("|---|---|---|---|")
    for title, figures, ours, baseline in rows:
        ratio = figures[ours] / figures[baseline]
        print(f"| {title} | {figures[ours]:.2f} s | {figures[baseline]:.2f} s | {ratio:.2f} |")
    write_figures(args.json, results)


if __name__ == "__main__":
    main()
