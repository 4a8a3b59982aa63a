"""Wall time and peak memory of one command in a generated project, from a fresh process."""

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from ml_template_dev import UV

# Wall time and peak memory of one command, measured from a fresh process. The command may start
# processes of its own (`monitor` runs Evidently in a worker), so memory is the peak of the summed
# RSS of its whole process tree, sampled every 25 ms (shared pages count once per process: an
# upper bound), and never below the largest single process's peak (`RUSAGE_CHILDREN`).
MEASURE = """
import json, os, resource, subprocess, sys, time

PAGE = os.sysconf("SC_PAGE_SIZE")


def tree_rss(root):
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    parent = int(stat.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry))
    pages, todo = 0, [root]
    while todo:
        pid = todo.pop()
        try:
            with open(f"/proc/{pid}/statm") as statm:
                pages += int(statm.read().split()[1])
        except (OSError, IndexError, ValueError):
            pass
        todo += children.get(pid, [])
    return pages * PAGE


started = time.perf_counter()
process = subprocess.Popen(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
peak = 0
while True:
    try:
        out, err = process.communicate(timeout=0.025)
        break
    except subprocess.TimeoutExpired:
        peak = max(peak, tree_rss(process.pid))
seconds = time.perf_counter() - started
largest = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
print(json.dumps({
    "seconds": seconds, "peak_rss_mb": max(peak, largest) / 2**20,
    "returncode": process.returncode, "stdout": out, "stderr": err[-2000:],
}))
"""


def project_env(project: Path) -> dict[str, str]:
    """A clean environment for commands inside the generated project."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "MLFLOW_"))}
    return {**env, "UV_PROJECT_ENVIRONMENT": str(project / ".venv"), "UV": " ".join(UV)}


def measure(command: list[str | Path], project: Path) -> dict[str, Any]:
    """Run a command once in its own process tree; its wall time, peak RSS and output."""
    python = str(project / ".venv" / "bin" / "python")
    load = os.getloadavg()[0]  # the machine is shared: say how busy it was
    done = subprocess.run(
        [python, "-c", MEASURE, *map(str, command)],
        cwd=project,
        env=project_env(project),
        capture_output=True,
        text=True,
        check=True,
    )
    return {**json.loads(done.stdout), "load_before": load}
