"""Monitoring benchmark: the generated project's `monitor` job vs a plain Evidently preset, 1M rows.

    make bench-monitoring      (or: uv run python benchmarks/monitoring.py [--rows N])

Renders a project with default answers, installs it, trains `configs/v1.yaml` (version 1, whose
reference sample is stored with it), then for two scenarios writes N logged predictions in the
serving log format (JSON lines, as `io.prediction_log` writes them), one per fresh row drawn
from the training data's distribution (the project's seeded generator, another seed): `no-drift`,
and `drift` (shifted means in five numeric features and a new plan level). For each scenario,
once, on this machine:

- ours: `<slug> monitor --model models:/<slug>/1 --from ... --to ...`, end to end in a new
  process: start the Evidently worker, resolve the version, fetch its reference, read the log
  (DuckDB), sample, Evidently with explicit methods, HTML + JSON, MLflow run;
- plain preset: `Report([DataDriftPreset()], include_tests=True)` over all N rows against the
  same reference, HTML saved, reading the rows from a Parquet copy made beforehand (untimed):
  Evidently's own time;
- plain end-to-end: the same, reading the log with the project's tested Python reader
  (`read_prediction_log` in its `tests/helpers.py`): what a job without the scale work would do.

Each runs in its own process under a small wrapper that reports wall time and peak memory: the
summed RSS of the command's whole process tree (ours runs Evidently in a worker process), sampled
every 25 ms, and never below the largest single process's peak; the 1-minute load average before
each run is recorded too, since the machine may be shared. Verdicts: ours is its exit code (0 or 3);
the plain runs' is Evidently's dataset-drift test (share of drifted columns >= 0.5, its default).
Nothing asserts; figures go to stdout and `build/bench-monitoring.json`.
"""

import argparse
import json
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
WINDOW = ["--from", "2026-01-01", "--to", "2026-01-02"]

# Runs in the project's environment: writes the log and a Parquet copy of the same rows.
GENERATE = f"""
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb

from {PACKAGE}.core.config import DataConfig
from {PACKAGE}.core.schema import feature_names
from {PACKAGE}.features import build_features
from {PACKAGE}.io import registry

scenario, rows, out = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
out.mkdir(parents=True)
raw = out / "fresh.csv"
generator = ["scripts/make_sample_data.py", "--rows", str(rows), "--seed", "7", "--out", str(raw)]
subprocess.run([sys.executable, *generator], check=True, capture_output=True)
config = DataConfig(raw_path=raw, features_dir=out / "features", as_of=date(2024, 1, 1))
frame = build_features(config).frame[feature_names()]
if scenario == "drift":
    frame["monthly_spend"] = frame["monthly_spend"] * 1.6
    frame["age"] = frame["age"] + 8
    frame["last_login_days"] = frame["last_login_days"] * 1.8
    frame["support_tickets"] = frame["support_tickets"] + 1
    frame["tickets_per_year"] = frame["tickets_per_year"] + 1
    frame.loc[frame.index[::3], "plan"] = "enterprise"
model = registry.load_model("{MODEL}")
frame["prediction"] = model.predict(frame)
frame["probability"] = model.predict_proba(frame)[:, 1]
frame.to_parquet(out / "current.parquet", index=False)
features = ", ".join(f"{{name}} := {{name}}" for name in feature_names())
con = duckdb.connect()
con.register("frame", frame)
for part in range(4):  # like a service's rotated files
    con.execute(
        f\"\"\"
        COPY (
            SELECT 'bench-' || i AS request_id, 0 AS row,
                strftime(TIMESTAMP '2026-01-01' + i * INTERVAL 50 MILLISECOND,
                         '%Y-%m-%dT%H:%M:%S.%f+00:00') AS timestamp,
                '{SLUG}' AS model_name, '1' AS model_version, 'bench' AS run_id,
                1.0 AS latency_ms, struct_pack({{features}}) AS features,
                CAST(prediction AS BIGINT) AS prediction, probability
            FROM (SELECT *, row_number() OVER () - 1 AS i FROM frame)
            WHERE i % 4 = {{part}}
        ) TO '{{out}}/predictions-bench-{{part}}.jsonl' (FORMAT json)
        \"\"\"
    )
"""

# Runs in the project's environment: the plain preset over every row, read from the Parquet copy
# (Evidently's time alone) or from the log with the project's tested reader (end to end).
PLAIN = f"""
import json
import sys
from pathlib import Path

import pandas as pd
from evidently import Report
from evidently.presets import DataDriftPreset

from {PACKAGE}.core.schema import feature_names
from tests.helpers import read_prediction_log  # the project's tested Python reader

source, reference, html = Path(sys.argv[1]), pd.read_parquet(sys.argv[2]), sys.argv[3]
if source.is_dir():
    log, _ = read_prediction_log(source)
    current = log[[*feature_names(), "prediction", "probability"]]
else:
    current = pd.read_parquet(source)
snapshot = Report([DataDriftPreset()], include_tests=True).run(current, reference)
snapshot.save_html(html)
result = snapshot.dict()
failed = {{t["metric_config"]["metric_id"] for t in result["tests"] if t["status"] == "FAIL"}}
count = next(m for m in result["metrics"] if "DriftedColumnsCount" in m["config"]["type"])
drifted = sorted(
    m["config"]["column"]
    for m in result["metrics"]
    if m["config"]["type"].endswith(":ValueDrift") and m["id"] in failed
)
print(json.dumps({{"drift": count["id"] in failed, "share": count["value"]["share"],
                  "drifted": drifted}}))
"""


def prepare(work: Path) -> Path:
    """Render, install and train version 1 (with its reference sample)."""
    project = render_copier(work / "project")
    env = project_env(project)
    subprocess.run(["make", "setup", "init-registry"], cwd=project, env=env, check=True)
    subprocess.run(["make", "train"], cwd=project, env=env, check=True, capture_output=True)
    return project


def reference_file(project: Path) -> Path:
    """The reference sample version 1 stored in its run (the local artefact store)."""
    [path] = (project / "mlartifacts" / SLUG).rglob("reference/reference.parquet")
    return path


def scenario(project: Path, name: str, rows: int) -> dict[str, Any]:
    """Generate one scenario's log, then run ours and the plain preset on it."""
    data = project / "bench" / name
    python = str(project / ".venv" / "bin" / "python")
    subprocess.run(
        [python, "-c", GENERATE, name, str(rows), str(data)],
        cwd=project,
        env=project_env(project),
        check=True,
    )
    config = project / "bench" / f"{name}.yaml"
    settings = (project / "configs" / "v1.yaml").read_text()
    settings = settings.replace("log_dir: logs/predictions", f"log_dir: {data}")
    config.write_text(settings.replace("output_dir: monitoring/reports", f"output_dir: {data}/out"))
    cli = str(project / ".venv" / "bin" / SLUG)
    ours = measure([cli, "monitor", "--config", str(config), "--model", MODEL, *WINDOW], project)
    if ours["returncode"] not in (0, 3):
        sys.exit(f"ours failed ({ours['returncode']}):\n{ours['stdout']}\n{ours['stderr']}")
    [summary_path] = (data / "out").glob("*/summary.json")
    summary = json.loads(summary_path.read_text())
    plain = {
        kind: measure(
            [python, "-c", PLAIN, source, reference_file(project), data / f"plain-{kind}.html"],
            project,
        )
        for kind, source in (("preset", data / "current.parquet"), ("end-to-end", data))
    }
    for kind, run in plain.items():
        if run["returncode"] != 0:
            sys.exit(f"plain {kind} failed:\n{run['stderr']}")
    drift = summary["drift"]
    return {
        "rows": summary["rows"]["window"],
        "analysed": summary["rows"]["analysed"],
        "ours": {
            "seconds": ours["seconds"],
            "peak_rss_mb": ours["peak_rss_mb"],
            "load_before": ours["load_before"],
            "exit_code": ours["returncode"],
            "drift": ours["returncode"] == 3,
            "share": drift["share_drifted"],
            "drifted": sorted(
                drift["drifted_columns"]
                + ([drift["prediction"]["column"]] if drift["prediction"]["drifted"] else [])
            ),
        },
        **{
            f"plain {kind}": {
                "seconds": run["seconds"],
                "peak_rss_mb": run["peak_rss_mb"],
                "load_before": run["load_before"],
                **json.loads(run["stdout"]),
            }
            for kind, run in plain.items()
        },
    }


def main() -> None:
    """Run both scenarios and print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--json", type=Path, default=Path("build/bench-monitoring.json"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ml-template-bench-monitoring-") as folder:
        work = Path(folder)
        isolate(work)
        project = prepare(work)
        results = {name: scenario(project, name, args.rows) for name in ("no-drift", "drift")}
    print(
        f"| {args.rows:,} logged predictions | wall | peak RSS | ours faster by | verdict "
        "| drifted | load before |"
    )
    print("|---|---|---|---|---|---|---|")
    for name, result in results.items():
        ours = result["ours"]
        for label in ("ours", "plain preset", "plain end-to-end"):
            run = result[label]
            speed = "" if label == "ours" else f"{run['seconds'] / ours['seconds']:.1f}x"
            print(
                f"| {name}: {label} | {run['seconds']:.1f} s | {run['peak_rss_mb']:.0f} MB "
                f"| {speed} | {'drift' if run['drift'] else 'ok'} "
                f"| {', '.join(run['drifted']) or '-'} | {run['load_before']:.1f} |"
            )
    write_figures(args.json, results)


if __name__ == "__main__":
    main()
