"""Serving benchmark: our service vs `mlflow models serve`, same model version and machine, one run.

    make bench-serving   (or: uv run python benchmarks/serving.py [--seconds S] [--json PATH])

Renders a project, trains the smoke model (one registered version), then for each server, one
worker process each, on 127.0.0.1 only:
1. cold start (median of 5): process start -> first 200 from a one-row prediction, given the
   registry URI (ours exports the version, as `mlflow models serve` downloads it) and, after the
   load runs, given a folder exported from it (ours: MODEL_DIR; mlflow: `-m <folder>`), where no
   registry is read;
2. single-row predictions with wrk (Debian package `wrk`) at 1 and at 16 connections, each for a
   bounded time: requests per second, p50, p99;
3. 1,000- and 10,000-row batches: median latency of sequential requests, in each server's row
   format (ours `records`, mlflow `dataframe_records`) and column format (ours `columns`, mlflow
   `dataframe_split`); ours runs with MAX_BATCH_ROWS=10000.
Both servers are asked with their own request format for the same rows. `--busy` runs all of it
with a CPU hog (a busy loop pinned to one core) beside the servers. Nothing here asserts.
"""

import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ml_template_dev.figures import write_figures
from ml_template_dev.render import isolate, render_copier

ROW = {
    "plan": "basic",
    "region": None,
    "age": 40.0,
    "monthly_spend": 50.0,
    "support_tickets": 1.0,
    "last_login_days": None,
    "tenure_days": 300.0,
    "signup_month": 3.0,
    "tickets_per_year": 1.0,
}
BATCHES = {1000: 20, 10000: 8}  # rows per request: sequential requests timed
COLD_STARTS = 5
UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def post(url: str, body: bytes) -> int:
    """POST JSON, return the status (raises on connection errors)."""
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()
        return int(response.status)


class Target:
    """One server under test: how to start it and how to ask it."""

    def __init__(
        self,
        name: str,
        command: list[str],
        path: str,
        envelopes: tuple[str, str],
        env: dict[str, str] | None = None,
    ) -> None:
        self.name = name
        self.env = env or {}
        self.port = free_port()
        self.command = [part.replace("{port}", str(self.port)) for part in command]
        self.url = f"http://127.0.0.1:{self.port}{path}"
        self.envelopes = envelopes
        self.process: subprocess.Popen[bytes] | None = None

    def body(self, rows: int) -> bytes:
        """`rows` copies of ROW in the server's row format."""
        return json.dumps({self.envelopes[0]: [ROW] * rows}).encode()

    def columns_body(self, rows: int) -> bytes:
        """`rows` copies of ROW in the server's column format."""
        if self.envelopes[1] == "dataframe_split":
            table = {"columns": list(ROW), "data": [list(ROW.values())] * rows}
        else:
            table = {name: [value] * rows for name, value in ROW.items()}
        return json.dumps({self.envelopes[1]: table}).encode()

    def start(self, cwd: Path, env: dict[str, str]) -> float:
        """Start the server; seconds from process start to the first 200."""
        started = time.perf_counter()
        self.process = subprocess.Popen(
            self.command,
            cwd=cwd,
            env={**env, **self.env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        body = self.body(1)
        while time.perf_counter() - started < 120:
            try:
                if post(self.url, body) == 200:
                    return time.perf_counter() - started
            except OSError:
                time.sleep(0.02)
        self.stop()
        raise SystemExit(f"error: {self.name} did not answer within 120 s")

    def stop(self) -> None:
        """Stop the server's whole process group and wait until its port is free again."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait(timeout=60)
        deadline = time.perf_counter() + 60  # mlflow's uvicorn child may outlive its parent
        while time.perf_counter() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", self.port)) != 0:
                    return
            time.sleep(0.05)
        raise SystemExit(f"error: {self.name} still holds port {self.port} after SIGTERM")


def wrk(target: Target, connections: int, seconds: int, work: Path) -> dict[str, float]:
    """Single-row requests for `seconds` at a fixed number of connections."""
    script = work / f"{target.name}.lua"
    body = target.body(1).decode().replace("'", "\\'")
    script.write_text(
        'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
        f"wrk.body = '{body}'\n"
    )
    threads = min(connections, 2)
    done = subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout",
            "30s",  # on a busy machine a slow answer is a latency, not a socket error
            "--latency",
            "-s",
            str(script),
            target.url,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    out = done.stdout
    if "Non-2xx" in out or "Socket errors" in out:
        raise SystemExit(f"error: {target.name} answered errors under load:\n{out}")

    def latency(percentile: str) -> float:
        found = re.search(rf"^\s+{percentile}%\s+([\d.]+)(us|ms|s)\s*$", out, flags=re.MULTILINE)
        assert found, out
        return float(found.group(1)) * UNITS[found.group(2)]

    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    assert rate, out
    return {"rps": float(rate.group(1)), "p50_ms": latency("50"), "p99_ms": latency("99")}


def cold_start(target: Target, cwd: Path, env: dict[str, str]) -> float:
    """Median seconds to the first 200 over COLD_STARTS starts; the server is left running."""
    samples = []
    for _ in range(COLD_STARTS - 1):
        samples.append(target.start(cwd, env))
        target.stop()
    samples.append(target.start(cwd, env))
    return statistics.median(samples)


def batch_latency(target: Target, body: bytes, repeat: int) -> float:
    """Median milliseconds for one request with this body."""
    post(target.url, body)
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        post(target.url, body)
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def batches(target: Target) -> dict[str, float]:
    """Median milliseconds per batch size, in the row and in the column format."""
    figures = {}
    for rows, repeat in BATCHES.items():
        figures[f"batch_{rows}_ms"] = batch_latency(target, target.body(rows), repeat)
        figures[f"batch_{rows}_columns_ms"] = batch_latency(
            target, target.columns_body(rows), repeat
        )
    return figures


@contextmanager
def cpu_hog(busy: bool) -> Iterator[None]:
    """With `busy`: a busy loop pinned to the first core, stopped at the end."""
    if not busy:
        yield
        return
    hog = subprocess.Popen(
        [sys.executable, "-c", "import os\nos.sched_setaffinity(0, {0})\nwhile True: pass"],
        start_new_session=True,
    )
    try:
        yield
    finally:
        os.killpg(hog.pid, signal.SIGKILL)
        hog.wait()


def servers(bin_dir: Path, model: str | Path) -> list[Target]:
    """Ours and mlflow's server for one model: a registry URI, or a folder exported from it."""
    ours = [str(bin_dir / "my-ml-project"), "serve", "--port", "{port}"]
    ours_env = {"MAX_BATCH_ROWS": str(max(BATCHES))}
    if isinstance(model, Path):
        ours_env["MODEL_DIR"] = str(model)
    else:
        ours += ["--model", model]
    mlflow = [
        *(str(bin_dir / "mlflow"), "models", "serve", "-m", str(model)),
        *("--env-manager", "local", "-h", "127.0.0.1", "-p", "{port}", "-w", "1"),
    ]
    return [
        Target("ours", ours, "/predict", ("records", "columns"), ours_env),
        Target("mlflow", mlflow, "/invocations", ("dataframe_records", "dataframe_split")),
    ]


def prepare(work: Path) -> tuple[Path, str, dict[str, str]]:
    """A rendered project, installed, with the smoke model registered."""
    isolate(work)
    project = render_copier(work / "project")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "MLFLOW_"))}
    env["UV_PROJECT_ENVIRONMENT"] = str(project / ".venv")
    subprocess.run(["make", "setup"], cwd=project, env=env, check=True, capture_output=True)
    subprocess.run(["make", "smoke"], cwd=project, env=env, check=True, capture_output=True)
    env["PATH"] = f"{project / '.venv' / 'bin'}{os.pathsep}{env['PATH']}"  # mlflow needs uvicorn
    env["MLFLOW_TRACKING_URI"] = f"sqlite:///{project / 'mlflow.db'}"
    return project, "models:/my-ml-project-smoke/1", env


def main() -> None:
    """Run both servers in turn and print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10, help="duration of each wrk run")
    parser.add_argument("--json", type=Path, help="default build/bench-serving[-busy].json")
    parser.add_argument("--busy", action="store_true", help="a CPU hog on one core throughout")
    args = parser.parse_args()
    figures_file = args.json or Path(f"build/bench-serving{'-busy' if args.busy else ''}.json")
    if shutil.which("wrk") is None:
        sys.exit("error: wrk not found; install it (Debian: apt-get install -y wrk)")
    results: dict[str, dict[str, Any]] = {}
    prefix = "ml-template-bench-serving-"
    with tempfile.TemporaryDirectory(prefix=prefix) as folder, cpu_hog(args.busy):
        work = Path(folder)
        project, uri, env = prepare(work)
        bin_dir = project / ".venv" / "bin"
        for target in servers(bin_dir, uri):
            figures: dict[str, Any] = {"cold_start_s": cold_start(target, project, env)}
            try:
                figures["c1"] = wrk(target, 1, args.seconds, work)
                figures["c16"] = wrk(target, 16, args.seconds, work)
                figures.update(batches(target))
            finally:
                target.stop()
            results[target.name] = figures
            print(f"{target.name}: {json.dumps(figures)}", file=sys.stderr, flush=True)
        export = work / "export"
        subprocess.run(
            [bin_dir / "my-ml-project", "export-model", "--model", uri, "--out", export],
            cwd=project,
            env=env,
            check=True,
            capture_output=True,
        )
        for target in servers(bin_dir, export):  # no registry read at start-up
            results[target.name]["cold_start_local_s"] = cold_start(target, project, env)
            target.stop()
    ours, mlflow = results["ours"], results["mlflow"]
    rows = [
        ("req/s, 1 connection", ours["c1"]["rps"], mlflow["c1"]["rps"], "{:.0f}"),
        ("p50 ms, 1 connection", ours["c1"]["p50_ms"], mlflow["c1"]["p50_ms"], "{:.2f}"),
        ("p99 ms, 1 connection", ours["c1"]["p99_ms"], mlflow["c1"]["p99_ms"], "{:.2f}"),
        ("req/s, 16 connections", ours["c16"]["rps"], mlflow["c16"]["rps"], "{:.0f}"),
        ("p50 ms, 16 connections", ours["c16"]["p50_ms"], mlflow["c16"]["p50_ms"], "{:.2f}"),
        ("p99 ms, 16 connections", ours["c16"]["p99_ms"], mlflow["c16"]["p99_ms"], "{:.2f}"),
        ("cold start s, from the registry", ours["cold_start_s"], mlflow["cold_start_s"], "{:.2f}"),
        (
            "cold start s, from an exported folder",
            ours["cold_start_local_s"],
            mlflow["cold_start_local_s"],
            "{:.2f}",
        ),
    ]
    for size in BATCHES:
        for shape, key in (("rows", f"batch_{size}_ms"), ("columns", f"batch_{size}_columns_ms")):
            title = f"{size:,}-row batch ms (median), {shape}"
            rows.append((title, ours[key], mlflow[key], "{:.1f}"))
    hog = ", a CPU hog on one core" if args.busy else ""
    header = f"one worker each, wrk {args.seconds} s per run{hog}"
    print(f"| {header} | ours | mlflow models serve | ours / mlflow |")
    print("|---|---|---|---|")
    for title, mine, theirs, fmt in rows:
        print(f"| {title} | {fmt.format(mine)} | {fmt.format(theirs)} | {mine / theirs:.2f} |")
    write_figures(figures_file, results)


if __name__ == "__main__":
    main()
