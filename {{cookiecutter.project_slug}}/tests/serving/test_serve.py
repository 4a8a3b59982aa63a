"""The real server: `serve` with one or two uvicorn workers on 127.0.0.1, from a registry."""

import contextlib
import ctypes
import json
import os
import resource
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from {{ cookiecutter.package_name }}.io.prediction_log import FILE_PATTERN
from {{ cookiecutter.package_name }}.training.train import train
from tests.helpers import (
    feature_records,
    free_port,
    project_config,
    read_prediction_log,
    run_process,
)

pytestmark = pytest.mark.slow
CLI = str(Path(sys.executable).parent / "{{ cookiecutter.project_slug }}")
STARTUP_SECONDS = 120
WORKER_STARTED = "Application startup complete."


RECORDS = feature_records(20, seed=3)


def _record(row: int) -> dict[str, Any]:
    return RECORDS[row % len(RECORDS)]


def _stop_with_the_tests() -> None:
    """In the server, before it runs: SIGTERM it when the test process dies, even by SIGKILL.

    The server runs in a session of its own (so a test can signal all its processes at once),
    which a dying pytest would otherwise leave running.
    """
    if sys.platform == "linux":
        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


class Server:
    """`{{ cookiecutter.project_slug }} serve` in its own process group, answering on a free loopback port."""

    def __init__(
        self, workdir: Path, uri: str, workers: int = 2, env: dict[str, str] | None = None
    ) -> None:
        self.url = f"http://127.0.0.1:{free_port()}"
        self.log = workdir / "predictions"
        self.workers = workers
        env = {**os.environ, "PREDICTION_LOG_DIR": str(self.log), **(env or {})}
        command = [CLI, "serve", "--model", uri, "--workers", str(workers)]
        command += ["--port", self.url.rsplit(":", 1)[1]]
        self.process = subprocess.Popen(
            command,
            env=env,
            start_new_session=True,
            preexec_fn=_stop_with_the_tests,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read_output, daemon=True)
        self._reader.start()

    def wait_until_ready(self) -> None:
        """Return once every worker has started and /readyz says ready; fail if it does not."""
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline and self.process.poll() is None:
            # /readyz answers as soon as one worker is up; a test of the split waits for all.
            if sum(WORKER_STARTED in line for line in self.lines) >= self.workers:
                try:
                    if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
            time.sleep(0.1)
        self.kill()
        raise AssertionError(f"server did not start:\n{self.output()}")

    def _read_output(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)

    def predict(self, rows: list[dict[str, Any]]) -> httpx.Response:
        return httpx.post(f"{self.url}/predict", json={"records": rows}, timeout=30)

    def stop(self, signum: int = signal.SIGTERM) -> int:
        """Send `signum` to every process of the server (as Ctrl-C, `docker stop` or make do)."""
        os.killpg(self.process.pid, signum)
        return self.process.wait(timeout=60)

    def kill(self) -> None:
        """kill -9 the parent and its workers (the whole process group this test started)."""
        with contextlib.suppress(ProcessLookupError):  # none of them is left
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=60)

    def output(self) -> str:
        """Everything the server printed (call after it has stopped)."""
        self._reader.join(timeout=10)
        return "".join(self.lines)


@pytest.fixture(scope="module")
def registered(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """A registry with one trained smoke model; tests run in its folder."""
    folder = tmp_path_factory.mktemp("served")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        result = train(project_config("smoke.yaml", features_dir=folder / "features"))
        yield folder, result.version.uri


@pytest.fixture
def start_server(registered: tuple[Path, str], tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """Start servers of the registered model; whatever is left of them is killed at the end.

    A server is recorded before it is waited for, so it is killed even if its start fails.
    """
    started: list[Server] = []

    def start(workers: int = 2, env: dict[str, str] | None = None) -> Server:
        started.append(Server(tmp_path, registered[1], workers, env))
        started[-1].wait_until_ready()
        return started[-1]

    try:
        yield start
    finally:
        for server in started:
            server.kill()


def test_two_workers_log_exactly_one_record_per_row(
    registered: tuple[Path, str], start_server: Callable[..., Server]
) -> None:
    _, uri = registered
    server = start_server()
    sizes: list[int] = []
    responses: list[httpx.Response] = []
    try:
        # The kernel hands each connection to whichever worker accepts first, so on a busy
        # machine one round may reach one worker only: send rounds until both have logged.
        for _ in range(5):
            batch = [1 + i % 4 for i in range(60)]
            with ThreadPoolExecutor(max_workers=8) as pool:
                responses += pool.map(
                    lambda n: server.predict([_record(r) for r in range(n)]), batch
                )
            sizes += batch
            if _wait_for(lambda: len(_writers(server.log)) == 2, seconds=5):
                break
        model = httpx.get(f"{server.url}/model", timeout=5).json()
    finally:
        assert server.stop() == 0, server.output()
    assert all(r.status_code == 200 for r in responses)
    version = uri.rsplit("/", 1)[1]
    assert {r.headers["x-model-version"] for r in responses} == {version} == {model["version"]}
    frame, malformed = read_prediction_log(server.log)
    assert malformed == 0
    sent = {r.json()["request_id"]: size for r, size in zip(responses, sizes, strict=True)}
    assert frame.groupby("request_id").size().to_dict() == sent
    assert set(frame["model_version"]) == {version}
    assert set(frame["run_id"]) == {model["run_id"]}
    assert len(_writers(server.log)) == 2, "one file set per worker"


def _writers(log: Path) -> set[str]:
    """The pid in each prediction log file name (`predictions-<host>-<pid>-<start>-<n>.jsonl`).

    Read from the right: a host name may hold dashes.
    """
    return {path.name.rsplit("-", 3)[1] for path in log.glob(FILE_PATTERN)}


def _wait_for(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_kill_9_loses_at_most_the_unflushed_tail(start_server: Callable[..., Server]) -> None:
    server = start_server()
    first = [server.predict([_record(i)]).json()["request_id"] for i in range(20)]
    deadline = time.monotonic() + 30  # the writer catches up as soon as it is idle
    while time.monotonic() < deadline and len(read_prediction_log(server.log)[0]) < len(first):
        time.sleep(0.05)
    with ThreadPoolExecutor(max_workers=8) as pool:
        tail = [
            r.json()["request_id"]
            for r in pool.map(lambda i: server.predict([_record(i)]), range(40))
        ]
    server.kill()
    frame, malformed = read_prediction_log(server.log)
    logged = list(frame["request_id"])
    assert set(first) <= set(logged), "everything flushed before the kill survives"
    assert set(logged) <= set(first) | set(tail)
    assert len(logged) == len(set(logged)), "no record twice"
    assert malformed <= len(list(server.log.iterdir())), "at most one cut line per file"


def test_a_model_that_cannot_load_stops_start_up_in_one_line(
    registered: tuple[Path, str], tmp_path: Path
) -> None:
    command = [CLI, "serve", "--model", "models:/no-such-model/3", "--port", str(free_port())]
    done = run_process(command, timeout=120)
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert done.stderr.startswith("error: cannot load model models:/no-such-model/3: ")
    assert done.stdout == ""


def _zombie_children(pid: int) -> list[int]:
    """Children of `pid` that have exited but were never waited for (Linux's /proc)."""
    zombies = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):  # gone meanwhile
            # `pid (name) state ppid ...`: the name may hold spaces and parentheses
            state, parent = stat.read_text().rsplit(")", 1)[1].split()[:2]
            if state == "Z" and int(parent) == pid:
                zombies.append(int(stat.parent.name))
    return zombies


def _write_errors(server: Server, expected: float) -> bool:
    return _metrics(server)["prediction_log_write_errors_total[]"] == expected


def _ready(server: Server) -> bool:
    return httpx.get(f"{server.url}/readyz", timeout=5).status_code == 200


def _metrics(server: Server) -> dict[str, float]:
    """/metrics as {sample name{labels}: value}."""
    text = httpx.get(f"{server.url}/metrics", timeout=5).text
    return {
        sample.name + str(sorted(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


@pytest.mark.parametrize(
    ("workers", "signum"), [(1, signal.SIGTERM), (2, signal.SIGINT)], ids=["1-sigterm", "2-ctrl-c"]
)
def test_one_or_two_workers_report_the_same_metrics_and_stop_cleanly(
    registered: tuple[Path, str],
    start_server: Callable[..., Server],
    tmp_path: Path,
    workers: int,
    signum: int,
) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    server = start_server(workers=workers, env={"TMPDIR": str(scratch), "LOG_FORMAT": "json"})
    sizes = [1 + i % 3 for i in range(12)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(lambda n: server.predict(RECORDS[:n]), sizes))
    metrics = _metrics(server)
    assert list(scratch.glob("{{ cookiecutter.project_slug }}-*")), "the export (and shared metrics)"
    assert _wait_for(lambda: not _zombie_children(server.process.pid), seconds=30), "export reaped"
    # The whole group gets it, as from Ctrl-C or make: the server and each worker, some twice.
    assert server.stop(signum) == 0, server.output()
    assert not list(scratch.glob("{{ cookiecutter.project_slug }}-*")), "scratch folders removed"
    assert "Traceback" not in server.output()
    _assert_json_log_lines(server.output(), requests=len(sizes))

    assert all(r.status_code == 200 for r in answers)
    version = registered[1].rsplit("/", 1)[1]
    name = answers[0].headers["x-model-name"]
    labels = str(sorted({"model_name": name, "model_version": version}.items()))
    assert metrics["predictions_total" + labels] == sum(sizes)
    route = str(sorted({"method": "POST", "route": "/predict", "status": "200"}.items()))
    assert metrics["http_requests_total" + route] == len(sizes)
    assert metrics["prediction_log_write_errors_total[]"] == 0
    assert metrics["prediction_log_dropped_rows_total[]"] == 0
    assert {key.split("[")[0] for key in metrics} == {
        "http_requests_total",
        "http_request_duration_seconds_bucket",
        "http_request_duration_seconds_count",
        "http_request_duration_seconds_sum",
        "http_requests_in_flight",
        "predictions_total",
        "prediction_log_write_errors_total",
        "prediction_log_dropped_rows_total",
    }


def _assert_json_log_lines(output: str, requests: int) -> None:
    """LOG_FORMAT=json: all but the `serving ...` line (stdout) are JSON, uvicorn's included,
    with one access line per request."""
    [serving, *lines] = output.splitlines()
    assert serving.startswith("serving ")
    records = [json.loads(line) for line in lines]
    loggers = {record["logger"] for record in records}
    assert {"uvicorn.error", "uvicorn.access"} <= loggers, loggers
    accessed = [r["message"] for r in records if r["logger"] == "uvicorn.access"]
    assert sum('"POST /predict HTTP/1.1" 200' in m for m in accessed) == requests, accessed


def test_a_log_that_cannot_be_written_is_counted_and_not_ready_until_it_can(
    start_server: Callable[..., Server],
) -> None:
    server = start_server(workers=1)  # it serves in its own process: the one to limit
    first = server.predict([_record(0)]).json()["request_id"]
    assert _wait_for(lambda: len(read_prediction_log(server.log)[0]) == 1, seconds=30)
    # A real write failure from the kernel (EFBIG), with no root, mount or disk to fill: files
    # of the server process may not grow past 64 KiB; one request of 400 rows writes ~100 KB.
    _, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.prlimit(server.process.pid, resource.RLIMIT_FSIZE, (64 * 1024, hard))
    try:
        big = [_record(r) for r in range(400)]
        for failed in (1, 2, 3):  # answered although not logged; one failed write each
            assert server.predict(big).status_code == 200
            assert _wait_for(partial(_write_errors, server, failed), seconds=30), server.output()
        assert _metrics(server)["prediction_log_dropped_rows_total[]"] == 3 * len(big)
        readyz = httpx.get(f"{server.url}/readyz", timeout=5)
        assert (readyz.status_code, readyz.json()) == (
            503,
            {"status": "prediction log not writable"},
        )
    finally:
        resource.prlimit(server.process.pid, resource.RLIMIT_FSIZE, (hard, hard))
    assert _wait_for(lambda: _ready(server), seconds=30), "ready again with no request: re-probed"
    last = server.predict([_record(1)]).json()["request_id"]
    assert server.stop() == 0, server.output()
    frame, malformed = read_prediction_log(server.log)
    assert (sorted(frame["request_id"]), malformed) == (sorted([first, last]), 0)
    output = server.output()
    assert output.count("prediction log: cannot write") == 1, output
    assert output.count("again; 1200 row(s) were dropped") == 1, output
    assert "Traceback" not in output
