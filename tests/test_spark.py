"""The generated project's Spark job, `make setup-spark test-spark`, passes here (slow: a JVM).

Features on Spark equal DuckDB's and batch scoring on Spark writes what local scoring writes; the
generated CI runs the same two targets in its `spark` job. REQUIRE_SPARK=1 turns a missing JVM
into a failure, so this test never passes by skipping (.ci/run installs a JRE where missing).
Then, in the same environment, Spark builds the features of the sample read from object storage
(SeaweedFS on 127.0.0.1, `data.raw_path: s3://…`): the fingerprint of the local file's on DuckDB.
"""

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from ml_template_dev.render import render_copier
from ml_template_dev.services import S3_KEYS, seaweedfs

pytestmark = pytest.mark.slow
UPLOAD = """
import sys
from pathlib import Path
from my_ml_project.io import object_store
object_store.upload(Path(sys.argv[1]), sys.argv[2])
"""


def test_make_test_spark_passes_without_skipping(tmp_path: Path) -> None:
    project = render_copier(tmp_path / "p")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "MLFLOW_"))}
    env["UV_PROJECT_ENVIRONMENT"] = str(project / ".venv")
    env["REQUIRE_SPARK"] = "1"
    done = subprocess.run(
        ["make", "setup-spark", "test-spark"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    assert " passed" in done.stdout and "skipped" not in done.stdout, done.stdout[-2000:]
    _spark_reads_the_raw_table_from_object_storage(project, env, tmp_path)


def _features(project: Path, env: dict[str, str], name: str, **data: str) -> str:
    """`features` on configs/v1.yaml with these data keys, in the spark environment: fingerprint."""
    config = yaml.safe_load((project / "configs" / "v1.yaml").read_text())
    config["data"].update(data, features_dir=f"data/{name}")
    path = project / "configs" / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config))
    command = ["uv", "run", "--locked", "--group", "spark", "my-ml-project", "features"]
    done = subprocess.run(
        [*command, "--config", str(path)], cwd=project, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    manifest = json.loads((project / "data" / name / "manifest.json").read_text())
    assert manifest["source"] == config["data"]["raw_path"]
    return str(manifest["fingerprint"])


def _spark_reads_the_raw_table_from_object_storage(
    project: Path, env: dict[str, str], tmp_path: Path
) -> None:
    local = _features(project, env, "duckdb-local", engine="duckdb")
    sample = yaml.safe_load((project / "configs" / "v1.yaml").read_text())["data"]["raw_path"]
    (tmp_path / "weed").mkdir()
    with seaweedfs(tmp_path / "weed", ["raw-data"]) as endpoint:
        s3_env = {**env, **S3_KEYS, "AWS_ENDPOINT_URL": endpoint, "AWS_REGION": "us-east-1"}
        uri = "s3://raw-data/team/customers.csv"
        python = str(project / ".venv" / "bin" / "python")
        subprocess.run(
            [python, "-c", UPLOAD, str(project / sample), uri], cwd=project, env=s3_env, check=True
        )
        assert _features(project, s3_env, "spark-s3", engine="spark", raw_path=uri) == local
