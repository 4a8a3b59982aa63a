"""The newcomer's loop on a rendered project, for `make demo` and `make screenshots`.

Each step is a make target of the generated project, run as a child process. Long-running ones
(the prediction service, the MLflow UI) start in their own process group and `Processes` stops
every group it started when its block ends: normally, on an error and on Ctrl-C.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from ml_template_dev import ROOT, UV
from ml_template_dev.render import render_copier

STARTUP_SECONDS = 180.0


class LoopError(RuntimeError):
    """A step of the loop failed; the message names the command, the folder and the exit code."""


# Set by the template's `make` and `uv run`; they would leak into the project's own.
NOT_INHERITED = ("VIRTUAL_ENV", "MAKEFLAGS", "MFLAGS", "MAKELEVEL")


def environment() -> dict[str, str]:
    """The environment for the project's make targets: the template's uv, no telemetry."""
    return {
        **{name: value for name, value in os.environ.items() if name not in NOT_INHERITED},
        "UV": " ".join(UV),
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "DO_NOT_TRACK": "true",
    }


def run(title: str, command: list[str], cwd: Path) -> str:
    """Run one command in the project, its output shown as it comes; return the output."""
    print(f"\n==> {title}: {shlex.join(command)}", flush=True)
    started = time.perf_counter()
    lines = []
    with subprocess.Popen(
        command,
        cwd=cwd,
        env=environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ) as process:
        assert process.stdout is not None
        for line in process.stdout:
            print(line, end="", flush=True)
            lines.append(line)
    if process.returncode != 0:
        raise LoopError(f"'{shlex.join(command)}' failed in {cwd} (exit {process.returncode})")
    print(f"    ({time.perf_counter() - started:.1f} s)", flush=True)
    return "".join(lines)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


class Processes:
    """Long-running children, each in its own process group, all stopped by `stop`."""

    def __init__(self) -> None:
        self._started: list[subprocess.Popen[bytes]] = []

    def start(self, title: str, command: list[str], cwd: Path, log: Path, **env: str) -> None:
        """Start a command in the background, its output to `log`."""
        print(f"\n==> {title}: {shlex.join(command)}  (output: {log})", flush=True)
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("wb") as output:
            process = subprocess.Popen(
                command,
                cwd=cwd,
                env={**environment(), **env},
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._started.append(process)

    @property
    def pids(self) -> list[int]:
        """The started processes' ids (each also its process group's id)."""
        return [process.pid for process in self._started]

    def wait_until(self, url: str, log: Path) -> None:
        """Wait until `url` answers 200; fail if the last started process exits first."""
        process = self._started[-1]
        deadline = time.monotonic() + STARTUP_SECONDS
        while not _answers(url):
            if process.poll() is not None:
                tail = log.read_text(errors="replace").strip().splitlines()[-5:]
                raise LoopError(f"{shlex.join(map(str, process.args))} exited: {' | '.join(tail)}")
            if time.monotonic() > deadline:
                raise LoopError(f"{url} did not answer within {STARTUP_SECONDS:.0f} s; see {log}")
            time.sleep(0.5)

    def stop(self) -> None:
        """Stop every started process group: SIGTERM, then SIGKILL after 10 s."""
        for process in reversed(self._started):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in reversed(self._started):
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self._started.clear()


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@contextmanager
def processes() -> Iterator[Processes]:
    """Processes stopped when the block ends, also on an error, Ctrl-C or SIGTERM."""
    started = Processes()
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield started
    finally:
        started.stop()
        signal.signal(signal.SIGTERM, previous)


def serve(children: Processes, project: Path, model: str, port: int) -> str:
    """Start `make serve MODEL=…` on 127.0.0.1:port, wait until ready; return its URL."""
    url = f"http://127.0.0.1:{port}"
    log = project / "logs" / "serve.out"
    children.start(
        "serve", ["make", "serve", f"MODEL={model}"], project, log, HOST="127.0.0.1", PORT=str(port)
    )
    children.wait_until(f"{url}/readyz", log)
    return url


def mlflow_ui(children: Processes, project: Path, port: int) -> str:
    """Start the MLflow UI on the project's registry at 127.0.0.1:port; return its URL."""
    url = f"http://127.0.0.1:{port}"
    log = project / "logs" / "mlflow-ui.out"
    command = [*UV, "run", "--locked", "mlflow", "ui", "--backend-store-uri", "sqlite:///mlflow.db"]
    children.start(
        "registry UI", [*command, "--host", "127.0.0.1", "--port", str(port)], project, log
    )
    children.wait_until(url, log)
    return url


def replay(project: Path, url: str) -> str:
    """Send the sample table's rows to the service with the project's own `make replay`."""
    return run("replay the sample as traffic", ["make", "replay", f"URL={url}"], project)


@dataclass(frozen=True)
class Loop:
    """Where a finished loop left things: the version, the service, the report, the UI."""

    project: Path
    model: str
    service: str
    report: Path
    registry: str


def found(pattern: str, output: str, what: str) -> str:
    """The first group of `pattern` in a step's output; a LoopError naming `what` if absent."""
    match = re.search(pattern, output)
    if match is None:
        raise LoopError(f"the output did not say {what}")
    return match.group(1)


def newcomer_loop(project: Path, children: Processes) -> Loop:
    """Render into `project` and run render -> setup -> train -> promote -> serve -> replay ->
    monitor -> registry UI with the project's make targets; the service and UI stay up."""
    print(f"==> render: copier copy {ROOT} {project} (default answers)")
    render_copier(project)
    # A commit first: every training run is tagged with the commit it ran from.
    run("git", ["git", "init", "-q"], project)
    run("git", ["git", "add", "-A"], project)
    identity = ["-c", "user.name=ml-template demo", "-c", "user.email=demo@example.com"]
    run("git", ["git", *identity, "commit", "-qm", "Render ml-template"], project)
    run("install the locked environment", ["make", "setup"], project)
    trained = run("features, training, registration", ["make", "train"], project)
    model = found(r"registered (models:/\S+/\d+)", trained, "which version it registered")
    run("promote the version to champion", ["make", "promote", f"MODEL={model}"], project)
    champion = model.rsplit("/", 1)[0] + "@champion"
    service = serve(children, project, champion, free_port())
    replay(project, service)
    monitored = run("monitoring job", ["make", "monitor", "SINCE=1h"], project)
    report = project / found(r"report: (\S+)", monitored, "where the report is")
    registry = mlflow_ui(children, project, free_port())
    return Loop(project, model, service, report, registry)


def fail(error: LoopError | KeyboardInterrupt) -> None:
    """Exit with one line: the failed step, or that the user stopped the run."""
    if isinstance(error, KeyboardInterrupt):
        sys.exit("stopped: every process the run started has been stopped")
    sys.exit(f"error: {error}")
