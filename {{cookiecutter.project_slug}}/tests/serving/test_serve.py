"""The real server: `serve` with two uvicorn workers on 127.0.0.1, from a registered model."""

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest

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


class Server:
    """`{{ cookiecutter.project_slug }} serve` in its own process group, answering on a free loopback port."""

    def __init__(
        self, workdir: Path, uri: str, workers: int = 2, env: dict[str, str] | None = None
    ) -> None:
        self.url = f"http://127.0.0.1:{free_port()}"
        self.log = workdir / "predictions"
        env = {**os.environ, "PREDICTION_LOG_DIR": str(self.log), **(env or {})}
        command = [CLI, "serve", "--model", uri, "--workers", str(workers)]
        command += ["--port", self.url.rsplit(":", 1)[1]]
        self.process = subprocess.Popen(
            command,
            env=env,
            start_new_session=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read_output, daemon=True)
        self._reader.start()
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline and self.process.poll() is None:
            # /readyz answers as soon as one worker is up; a test of the split waits for all.
            if sum(WORKER_STARTED in line for line in self.lines) >= workers:
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

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
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
    """Start servers of the registered model; whatever is left of them is killed at the end."""
    started: list[Server] = []

    def start(workers: int = 2, env: dict[str, str] | None = None) -> Server:
        started.append(Server(tmp_path, registered[1], workers, env))
        return started[-1]

    yield start
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


def test_sigterm_stops_one_worker_cleanly_and_removes_its_scratch_folders(
    start_server: Callable[..., Server], tmp_path: Path
) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    server = start_server(workers=1, env={"TMPDIR": str(scratch)})
    assert server.predict([_record(1)]).status_code == 200
    assert list(scratch.glob("{{ cookiecutter.project_slug }}-*")), "the export and its metrics"
    assert server.stop() == 0
    assert not list(scratch.glob("{{ cookiecutter.project_slug }}-*"))
