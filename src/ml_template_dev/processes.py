"""Processes a test starts in their own session (`start_new_session`): wait for them, stop them."""

import os
import signal
import subprocess
import time
import urllib.request


def stop_group(process: subprocess.Popen[bytes], grace: float = 60) -> None:
    """SIGTERM the process group, then SIGKILL it if it has not ended within `grace` seconds."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def wait_ready(url: str, process: subprocess.Popen[bytes], seconds: float = 180) -> bool:
    """Poll `url` until it answers 200; False if `process` ends or `seconds` pass first."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return True
        except OSError:
            time.sleep(0.2)
    return False
