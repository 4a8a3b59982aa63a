import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from {{ cookiecutter.package_name }}.cli import app, main
from {{ cookiecutter.package_name }}.core.config import load_config
from {{ cookiecutter.package_name }}.core.schema import schema
from tests.helpers import PROJECT, raw_rows, run_process, write_csv

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
    features_dir = load_config(Path("configs/smoke.yaml")).data.features_dir
    rows = len(pd.read_parquet(workdir / features_dir / "features.parquet"))
    assert f"features: {rows} rows" in result.stdout


def _edit(setup: str, config: dict[str, Any]) -> None:
    """Break a copy of the smoke config (or the data it reads) in one way."""
    if setup == "unknown_key":
        config["colour"] = "blue"
    elif setup == "wrong_type":
        config["split"]["seed"] = "forty-two"
    elif setup == "missing_data":
        config["data"]["raw_path"] = "data/missing.csv"
    else:
        first = schema().raw_columns[0].name
        write_csv(raw_rows(50).drop(columns=[first]), Path("data/bad.csv"))
        config["data"]["raw_path"] = "data/bad.csv"


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        ("unknown_key", "colour: unknown key"),
        ("wrong_type", "split.seed"),
        ("missing_data", "raw data file data/missing.csv not found"),
        ("missing_column", f"missing column(s) {schema().raw_columns[0].name}"),
    ],
)
def test_bad_input_fails_in_one_line_and_registers_nothing(
    workdir: Path, setup: str, expected: str
) -> None:
    config = yaml.safe_load(Path("configs/smoke.yaml").read_text())
    _edit(setup, config)
    Path("configs/bad.yaml").write_text(yaml.safe_dump(config, allow_unicode=True))
    result = runner.invoke(app, ["train", "--config", "configs/bad.yaml"])
    _assert_one_line_error(result.exit_code, result.stderr, expected)
    assert not (workdir / "mlflow.db").exists(), "nothing may be registered on bad input"


# A YAML alias bomb: nine levels of nine aliases, 9**9 (387 million) strings once expanded.
ALIAS_BOMB = "\n".join(
    [
        'a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]',
        *[f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 9)}]" for n in range(1, 9)],
        "run_name: *a8",
    ]
)


def _write_config(kind: str) -> str:
    """A copy of the smoke config broken in one way (or in the YAML around it); its path."""
    text = Path("configs/smoke.yaml").read_text()
    config = yaml.safe_load(text)
    if kind == "alias_bomb":
        text = f"{ALIAS_BOMB}\n{text.replace('run_name: smoke', '')}"
    elif kind == "self_alias":
        text = f"loop: &loop [*loop]\n{text}"
    elif kind == "huge":
        text += f"# {'x' * 2_000_000}\n"
    elif kind == "long_value":
        config["model"]["estimator"] = "x" * 100_000
        text = yaml.safe_dump(config)
    elif kind == "bad_param":
        config["model"]["params"]["learning_rate"] = -1
        text = yaml.safe_dump(config)
    Path(f"configs/{kind}.yaml").write_text(text)
    return f"configs/{kind}.yaml"


@pytest.mark.parametrize(
    ("command", "config", "env", "expected"),
    [
        (["features"], "alias_bomb", {}, "its aliases expand to more than"),
        (["monitor", "--since", "1d"], "alias_bomb", {}, "its aliases expand to more than"),
        (["features"], "self_alias", {}, "its aliases expand to more than"),
        (["features"], "huge", {}, "larger than 1024 KiB"),
        (["features"], "long_value", {}, "model.estimator 'xxxxx"),
        (["train"], "bad_param", {}, "model.params: The 'learning_rate' parameter"),
        (["monitor", "--since", "1000000d"], "", {}, "reaches back before the year 1"),
        (["monitor", "--since", "999999999999999999999d"], "", {}, "is too long"),
        (["monitor", "--since", "9" * 5000 + "d"], "", {}, "is too long"),
        (["serve"], "", {"PORT": "99999"}, "--port/PORT 99999 is not a TCP port"),
        (["serve", "--port", "0"], "", {}, "--port/PORT 0 is not a TCP port"),
    ],
    ids=lambda value: str(value)[:30],
)
def test_bad_cli_input_is_one_line_and_exit_2(
    workdir: Path, command: list[str], config: str, env: dict[str, str], expected: str
) -> None:
    path = _write_config(config) if config else "configs/smoke.yaml"
    options = [] if command[0] == "serve" else ["--config", path]
    result = runner.invoke(app, [*command, *options], env=env)
    _assert_one_line_error(result.exit_code, result.stderr, expected)
    assert len(result.stderr) < 600, "values in messages are cut short"
    assert not (workdir / "mlflow.db").exists(), "nothing may be registered on bad input"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["monitor", "--sinse", "1d"], "monitor: No such option: --sinse"),
        (["serve", "--workers", "0"], "Invalid value for '--workers'"),
        (["serve", "--port", "eighty"], "Invalid value for '--port'"),
        (["trian"], "No such command 'trian'"),
    ],
)
def test_command_line_mistakes_are_one_line_and_exit_2(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    expected: str,
) -> None:
    monkeypatch.setattr(sys, "argv", ["{{ cookiecutter.project_slug }}", *args])
    with pytest.raises(SystemExit) as caught:
        main()
    code = caught.value.code
    assert isinstance(code, int)
    _assert_one_line_error(code, capsys.readouterr().err, expected)


def test_main_exits_with_the_command_s_code(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "argv", ["{{ cookiecutter.project_slug }}", "features", "--help"])
    with pytest.raises(SystemExit) as caught:
        main()
    assert caught.value.code == 0
    # Rich colours the help where it detects CI (GitHub Actions sets GITHUB_ACTIONS): read the text.
    assert "--config" in re.sub(r"\x1b\[[0-9;]*m", "", capsys.readouterr().out)


@pytest.mark.slow
def test_train_script_end_to_end(workdir: Path) -> None:
    """The documented entry point, as a user runs it: a new process, a registered version."""
    script = str(PROJECT / "train.py")
    config = "configs/smoke.yaml"
    command = [
        sys.executable,
        script,
        "--config",
        config,
        "--metrics-out",
        "metrics/candidate.json",
    ]
    done = run_process(command, timeout=600)
    assert done.returncode == 0, done.stderr
    name = load_config(Path(config)).registry.model_name
    assert f"registered models:/{name}/1" in done.stdout
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
