"""Both getting-started pages, executed: docs/getting-started.md's commands run in order in one
shell on a fresh render, then the rendered project's docs/getting-started.md in that project
(its registry, logs and git history reset, its environment kept: one render, one full setup),
and each command prints the lines its page says it does (slow: a real install, training and
service, twice)."""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from ml_template_dev import ROOT, UV
from ml_template_dev.getting_started import (
    Command,
    commands,
    outputs,
    replaced,
    script,
)

pytestmark = pytest.mark.slow
# What the page says for a reader and what the test runs instead: the template of this checkout
# (its working tree) rather than the published one, the dev environment's copier rather than uvx.
SOURCE = "uvx copier copy --defaults gh:org/ml-template"
COPIER = Path(sys.executable).parent / "copier"
PORT_IN_PAGE = "127.0.0.1:8000"
PROJECT = "my-ml-project"  # the default answers' folder, as the template's page names it


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run_page(steps: list[Command], cwd: Path) -> None:
    """Run the page's commands in one shell in `cwd` (the service on a free port, stopped at the
    end with everything else the shell started) and check what each printed."""
    port = free_port()
    steps = replaced(steps, PORT_IN_PAGE, f"127.0.0.1:{port}")
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
        ["bash", "-c", script(steps)],
        cwd=cwd,
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


def as_fresh_copy(project: Path) -> None:
    """The rendered project as a reader of its own page has it: no git history, no registry,
    logs or reports; the environment (.venv) kept."""
    subprocess.run(["make", "clean"], cwd=project, check=True, capture_output=True)
    shutil.rmtree(project / ".git")
    (project / "serve.log").unlink()


def test_both_getting_started_pages_run_as_written(tmp_path: Path) -> None:
    steps = commands()
    text = script(steps)
    assert SOURCE in text and PORT_IN_PAGE in text and f" {PROJECT}\n" in text
    source = f"{COPIER} copy --defaults --vcs-ref HEAD {ROOT}"
    run_page([Command(s.line.replace(SOURCE, source), s.expected) for s in steps], tmp_path)

    project = tmp_path / PROJECT
    own = commands(project / "docs" / "getting-started.md")  # its README's path: tests/test_docs
    assert PORT_IN_PAGE in script(own)
    as_fresh_copy(project)
    run_page(own, project)
