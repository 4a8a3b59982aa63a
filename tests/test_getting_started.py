"""docs/getting-started.md, executed: its commands run in order in one shell on a fresh render,
and each prints the lines the page says it does (slow: a real install, training and service)."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from ml_template_dev import ROOT, UV
from ml_template_dev.getting_started import commands, outputs, script

pytestmark = pytest.mark.slow
# What the page says for a reader and what the test runs instead: the template of this checkout
# (its working tree) rather than the published one, the dev environment's copier rather than uvx.
SOURCE = "uvx copier copy --defaults gh:org/ml-template"
COPIER = Path(sys.executable).parent / "copier"
PORT_IN_PAGE = "127.0.0.1:8000"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_getting_started_runs_as_written(tmp_path: Path) -> None:
    steps = commands()
    text = script(steps)
    assert SOURCE in text and PORT_IN_PAGE in text
    port = free_port()
    text = text.replace(SOURCE, f"{COPIER} copy --defaults --vcs-ref HEAD {ROOT}")
    text = text.replace(PORT_IN_PAGE, f"127.0.0.1:{port}")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "MLFLOW_"))},
        "UV": " ".join(UV),
        "PORT": str(port),  # `make serve` listens here
        "URL": f"http://127.0.0.1:{port}",  # `make replay` sends here
        "GIT_AUTHOR_NAME": "Newcomer",
        "GIT_AUTHOR_EMAIL": "newcomer@example.com",
        "GIT_COMMITTER_NAME": "Newcomer",
        "GIT_COMMITTER_EMAIL": "newcomer@example.com",
    }
    shell = subprocess.Popen(
        ["bash", "-c", text],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # the page's background service is in this group: stopped below
    )
    try:
        output, _ = shell.communicate(timeout=1800)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(shell.pid, signal.SIGKILL)
    ran = outputs(output, len(steps))
    for step, printed in zip(steps, ran, strict=True):
        assert step.missing(printed) == [], f"`{step.line}` printed:\n{printed[-3000:]}"
    assert shell.returncode == 0, output[-3000:]
