import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from {{ cookiecutter.package_name }}.cli import app
from tests.helpers import PROJECT

runner = CliRunner()


def _assert_one_line_error(result_code: int, stderr: str, expected: str) -> None:
    assert result_code == 2
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: ")
    assert expected in lines[0]
    assert "Traceback" not in stderr


def test_features_command(workdir: Path) -> None:
    result = runner.invoke(app, ["features", "--config", "configs/smoke.yaml"])
    assert result.exit_code == 0, result.output
    assert "features: 600 rows" in result.stdout
    assert (workdir / "data/features/smoke/features.parquet").is_file()


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        ("unknown_key", "colour: unknown key"),
        ("wrong_type", "split.seed"),
        ("missing_data", "raw data file data/missing.csv not found"),
        ("missing_column", "missing column(s) age"),
    ],
)
def test_bad_input_fails_in_one_line_and_registers_nothing(
    workdir: Path, setup: str, expected: str
) -> None:
    text = Path("configs/smoke.yaml").read_text()
    if setup == "unknown_key":
        text += "colour: blue\n"
    elif setup == "wrong_type":
        text = text.replace("seed: 42", "seed: forty-two")
    elif setup == "missing_data":
        text = text.replace("data/sample/customers.csv", "data/missing.csv")
    else:
        raw = pd.read_csv("data/sample/customers.csv").drop(columns=["age"])
        raw.to_csv("data/sample/customers.csv", index=False)
    Path("configs/bad.yaml").write_text(text)
    result = runner.invoke(app, ["train", "--config", "configs/bad.yaml"])
    _assert_one_line_error(result.exit_code, result.stderr, expected)
    assert not (workdir / "mlflow.db").exists(), "nothing may be registered on bad input"


@pytest.mark.slow
def test_train_script_end_to_end(workdir: Path) -> None:
    """The documented entry point, as a user runs it: a new process, a registered version."""
    project = PROJECT
    done = subprocess.run(
        [
            sys.executable,
            str(project / "train.py"),
            "--config",
            "configs/smoke.yaml",
            "--metrics-out",
            "metrics/candidate.json",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "registered models:/{{ cookiecutter.project_slug }}-smoke/1" in done.stdout
    assert (workdir / "metrics/candidate.json").is_file()


PACKAGE = "{{ cookiecutter.package_name }}"
V1 = PROJECT / "configs" / "v1.yaml"


@pytest.mark.parametrize(
    ("modules", "then", "heavy"),
    [
        # Evidently (~5 s, ~300 MB to import) loads only in `monitor`'s drift worker.
        (("cli", "io.prediction_log"), "", {"evidently"}),
        # `serve` starts the model export first: it must not wait for these.
        (("serving.fetch",), "", {"pydantic", "sklearn", "fastapi", "mlflow"}),
        # `monitor`'s own process leaves Evidently (and the scikit-learn it brings) to the worker.
        (
            ("monitoring.job", "core.config"),
            f"{PACKAGE}.core.config.load_config(pathlib.Path({str(V1)!r}))",
            {"evidently", "sklearn"},
        ),
    ],
)
def test_light_modules_import_nothing_heavy(
    modules: tuple[str, ...], then: str, heavy: set[str]
) -> None:
    imports = ", ".join(f"{PACKAGE}.{module}" for module in modules)
    code = "\n".join(
        [
            f"import json, pathlib, sys, {imports}",
            then,
            "print(json.dumps([m.split('.')[0] for m in sys.modules]))",
        ]
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert heavy.isdisjoint(json.loads(done.stdout))
