"""The serving-only environment (what the image installs) serves an exported model (slow: minutes).

One render: the full environment trains and exports a model; a second environment holds
serving's dependencies only (`uv sync --no-default-groups`, as the Dockerfile runs it); `serve`
runs from it; `/predict` and `/invocations` answer, the latter to MLflow's own scoring client
and to the documented `requests` call, with the predictions MLflow's pyfunc model gives.
"""

import json
import os
import signal
import socket
import subprocess
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from ml_template_dev import UV
from ml_template_dev.measure import project_env
from ml_template_dev.processes import stop_group, wait_ready
from ml_template_dev.render import render_copier

pytestmark = pytest.mark.slow

MODEL = "models:/my-ml-project-smoke/1"
# Run by the full environment's Python: MLflow's clients of `mlflow models serve`, unchanged, and
# MLflow's own predictions for the same rows (the exported model loaded as a pyfunc model).
MLFLOW_CLIENTS = """
import json, sys
import mlflow.pyfunc, pandas as pd, requests
from mlflow.pyfunc.scoring_server.client import ScoringServerClient

url, model, example = sys.argv[1:]
body = json.loads(open(example).read())
documented = requests.post(
    f"{url}/invocations", headers={"Content-Type": "application/json"}, data=json.dumps(body)
)
documented.raise_for_status()
frame = pd.DataFrame(**body["dataframe_split"])
host, port = url.removeprefix("http://").split(":")
client = ScoringServerClient(host, int(port))
client.wait_server_ready(timeout=30)  # polls /ping
predictions = client.invoke(frame).get_predictions()
expected = mlflow.pyfunc.load_model(model).predict(frame)
print(json.dumps({
    "documented": documented.json()["predictions"],
    "client": predictions.iloc[:, 0].tolist(),
    "mlflow": pd.Series(expected).tolist(),
}))
"""


def _run(command: list[str], project: Path, **env: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        command,
        cwd=project,
        env={**project_env(project), **env},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, f"{command}: {done.stdout[-2000:]}{done.stderr[-2000:]}"
    return done


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def _serving(command: list[str], project: Path, env: dict[str, str]) -> Iterator[str]:
    """`serve` on a free port until the block ends (stopped also when the block fails)."""
    port = _free_port()
    server = subprocess.Popen(
        command,
        cwd=project,
        env={**project_env(project), **env, "PORT": str(port)},
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        if not wait_ready(f"{url}/readyz", server):
            os.killpg(server.pid, signal.SIGTERM)
            output = server.communicate(timeout=60)[0].decode(errors="replace")
            raise AssertionError(f"serve did not start: {output[-2000:]}")
        yield url
    finally:
        stop_group(server)


def _post(url: str, body: Any) -> Any:
    data = json.dumps(body).encode()
    request = urllib.request.Request(url, data, {"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as answer:
        return json.loads(answer.read())


def test_the_serving_only_environment_serves_predict_and_invocations(tmp_path: Path) -> None:
    project = render_copier(tmp_path / "project")
    _run([*UV, "sync", "--locked"], project)
    _run(["make", "smoke"], project)
    _run(["make", "export-model", f"MODEL={MODEL}"], project)
    serving_env = tmp_path / "serving-env"
    _run(
        [*UV, "sync", "--locked", "--no-default-groups", "--no-editable"],
        project,
        UV_PROJECT_ENVIRONMENT=str(serving_env),
    )
    python = str(serving_env / "bin" / "python")
    for absent in ("mlflow", "evidently", "ibis", "duckdb", "matplotlib"):
        found = _run(
            [python, "-c", f"import importlib.util; print(importlib.util.find_spec('{absent}'))"],
            project,
        )
        assert found.stdout.strip() == "None", f"{absent} is in the serving-only environment"

    example = project / "build" / "model" / "serving_input_example.json"
    split = json.loads(example.read_text())["dataframe_split"]
    # MLflow's example writes a missing value as NaN, as pandas holds it; /predict takes null.
    missing = [[None if v != v else v for v in row] for row in split["data"]]
    records = [dict(zip(split["columns"], row, strict=True)) for row in missing]
    log = tmp_path / "log"
    env = {"MODEL_DIR": "build/model", "PREDICTION_LOG_DIR": str(log)}
    with _serving([str(serving_env / "bin" / "my-ml-project"), "serve"], project, env) as url:
        predicted = _post(f"{url}/predict", {"records": records})
        invoked = _post(f"{url}/invocations", {"dataframe_split": split})
        clients = json.loads(
            _run(
                [".venv/bin/python", "-c", MLFLOW_CLIENTS, url, "build/model", str(example)],
                project,
            ).stdout.splitlines()[-1]
        )
    labels = [p["prediction"] for p in predicted["predictions"]]
    assert invoked == {"predictions": labels}
    assert clients == {"documented": labels, "client": labels, "mlflow": labels}
    lines = sum(path.read_bytes().count(b"\n") for path in log.glob("predictions-*.jsonl"))
    assert lines == 4 * len(records), "every request's rows are logged"

    # Without the registry group, a models:/ URI is refused with the fix, not a traceback.
    refused = subprocess.Popen(
        [str(serving_env / "bin" / "my-ml-project"), "serve", "--model", MODEL],
        cwd=project,
        env={**project_env(project), "PORT": str(_free_port())},
        start_new_session=True,  # stopped as a group below, also if it serves after all
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        stderr = refused.communicate(timeout=120)[1].decode(errors="replace")
    finally:
        stop_group(refused)
    assert refused.returncode == 2, stderr[-2000:]  # a UserError
    assert "mlflow is not installed; install the registry group" in stderr
    assert "Traceback" not in stderr
