"""Stopping what a test started in its own session (`start_new_session`), its children too."""

import os
import signal
import subprocess


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
