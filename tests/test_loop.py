"""The loop `make demo` runs stops whatever it started: at the end, on an error, on SIGTERM."""

import os
import signal
import sys
from pathlib import Path

import pytest

from ml_template_dev.loop import LoopError, free_port, processes

SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_an_error_in_the_block_stops_every_process_it_started(tmp_path: Path) -> None:
    with pytest.raises(LoopError), processes() as children:
        children.start("one", SLEEPER, tmp_path, tmp_path / "one.out")
        children.start("two", SLEEPER, tmp_path, tmp_path / "two.out")
        started = children.pids
        raise LoopError("a step failed")
    assert not any(alive(pid) for pid in started)


def test_sigterm_stops_the_processes_like_ctrl_c(tmp_path: Path) -> None:
    with pytest.raises(KeyboardInterrupt), processes() as children:
        children.start("one", SLEEPER, tmp_path, tmp_path / "one.out")
        (started,) = children.pids
        os.kill(os.getpid(), signal.SIGTERM)
    assert not alive(started)


def test_a_service_that_exits_before_answering_is_one_line_with_its_output(tmp_path: Path) -> None:
    log = tmp_path / "service.out"
    command = [sys.executable, "-c", "print('cannot listen'); raise SystemExit(2)"]
    with pytest.raises(LoopError, match="cannot listen"), processes() as children:
        children.start("service", command, tmp_path, log)
        children.wait_until(f"http://127.0.0.1:{free_port()}/readyz", log)
