"""The invariant: whatever the service answers 200 for, the monitoring job can read and judge.

Records drawn from the service's own request JSON schema (`tests/monitoring/accepted.py`: nulls,
bounds, the largest and smallest floats, the longest non-ASCII texts) go through the app into its
prediction log, padded with ordinary rows up to `min_rows`; then the real `monitor` command reads
that log and must reach a verdict, having used every row and counted what it clipped.
"""

import dataclasses
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
import pytest
import yaml
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mlflow.tracking import MlflowClient
from typer.testing import CliRunner

from {{ cookiecutter.package_name }}.cli import app as cli
from {{ cookiecutter.package_name }}.core.config import load_config
from {{ cookiecutter.package_name }}.core.schema import feature_names
from {{ cookiecutter.package_name }}.io import registry
from {{ cookiecutter.package_name }}.io.exported_model import Bundle, read_bundle
from {{ cookiecutter.package_name }}.io.sqlite_registry import REFERENCE_ARTIFACT
from {{ cookiecutter.package_name }}.serving.app import create_app
from {{ cookiecutter.package_name }}.serving.settings import ServiceSettings
from tests.helpers import copy_project, feature_records
from tests.monitoring import accepted

pytestmark = pytest.mark.slow  # a registry, the service and the monitoring job: seconds
MODEL = "invariant"
BATCH = 8  # records per generated request
JSON = {"content-type": "application/json"}


def register(bundle: Bundle, training_rows: pd.DataFrame) -> registry.RegisteredVersion:
    """Register a version of MODEL whose run stores the reference sample, as training does.

    Only the reference is stored: the monitoring job reads nothing else of a version.
    """
    info, model = bundle
    reference = training_rows[feature_names()].reset_index(drop=True)
    classify = info.problem_type == "classification"
    reference = reference.assign(
        prediction=model.predict(reference),
        probability=model.predict_proba(reference)[:, 1] if classify else float("nan"),
    )
    registry.init_registry()
    client = MlflowClient()
    # An explicit experiment, not mlflow.set_experiment: that one stays active for every later
    # test in this process, whose fresh registry has no such experiment.
    with mlflow.start_run(experiment_id=client.create_experiment(MODEL)) as run:
        path = Path("reference.parquet")
        reference.to_parquet(path, index=False)
        mlflow.log_artifact(str(path), REFERENCE_ARTIFACT.rsplit("/", 1)[0])
    client.create_registered_model(MODEL)
    version = client.create_model_version(MODEL, run.info.artifact_uri, run_id=run.info.run_id)
    return registry.RegisteredVersion(MODEL, str(version.version), run.info.run_id)


@pytest.fixture
def project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, model_dir: Path
) -> Iterator[tuple[Path, Bundle]]:
    """A project folder with its own registry holding one version of MODEL; the model's folder
    and the bundle the service serves as that version."""
    copy_project(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MONITOR_WEBHOOK_URL", raising=False)
    info, model = read_bundle(model_dir)
    version = register((info, model), pd.read_parquet(model_dir / "features.parquet"))
    values = yaml.safe_load(Path("configs/smoke.yaml").read_text())
    values["registry"] = {"experiment": MODEL, "model_name": MODEL}
    values["monitoring"] = {"log_dir": "logs", "output_dir": "reports"}
    Path("configs/invariant.yaml").write_text(yaml.safe_dump(values, allow_unicode=True))
    yield model_dir, (dataclasses.replace(info, name=MODEL, version=version.version), model)


def test_whatever_the_service_accepts_the_monitoring_job_judges(
    project: tuple[Path, Bundle],
) -> None:
    config = load_config(Path("configs/invariant.yaml"))
    model_dir, bundle = project
    service = ServiceSettings.model_validate(
        {
            "model_dir": model_dir,
            "prediction_log_dir": config.monitoring.log_dir,
            "max_batch_rows": max(config.monitoring.min_rows, 1000),  # the padding: one request
        }
    )
    posted = 0
    with TestClient(create_app(service, loaded=bundle)) as client:
        schema = client.get("/openapi.json").json()["components"]["schemas"]["Record"]
        properties = schema["properties"]

        def post(records: list[dict[str, Any]]) -> None:
            nonlocal posted
            body = json.dumps({"records": records}, allow_nan=False)
            response = client.post("/predict", content=body, headers=JSON)
            assert response.status_code == 200, response.text[:500]
            posted += len(records)

        @settings(
            max_examples=100,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture],
        )
        @given(records=st.lists(accepted.records(properties), min_size=1, max_size=BATCH))
        def post_accepted(records: list[dict[str, Any]]) -> None:
            post(records)

        post_accepted()
        padding = feature_records(config.monitoring.min_rows, seed=3)
        post(accepted.edge_records(properties, padding[0]))
        post(padding)
    # The app has stopped: its log writer has written every row. The window ends in an hour, so
    # that it holds the rows of the current second too.
    command = ["monitor", "--config", "configs/invariant.yaml", "--model", f"models:/{MODEL}/1"]
    until = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    result = CliRunner().invoke(cli, [*command, "--since", "2h", "--to", until])
    assert result.exit_code in (0, 3), result.output
    assert "Traceback" not in result.output
    [path] = Path("reports").glob("*/summary.json")
    summary = json.loads(path.read_text())
    rows = summary["rows"]
    assert (rows["window"], rows["analysed"], rows["malformed_lines"]) == (posted, posted, 0)
    # Every number beyond an open side of its range was posted as ±1.8e308: clipped, counted.
    open_sided = [
        name
        for name, spec in accepted.fields(properties).items()
        if spec["type"] == "number" and not {"minimum", "maximum"} <= set(spec)
    ]
    assert set(open_sided) <= set(rows["clipped_values"]), rows
    if open_sided:
        assert "far outside the reference clipped" in result.output
