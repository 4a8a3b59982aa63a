"""Promotion across a schema change: the old champion cannot be scored on the new features."""

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from {{ cookiecutter.package_name }}.cli import app
from {{ cookiecutter.package_name }}.core import schema as schema_module
from {{ cookiecutter.package_name }}.core.schema import feature_names
from {{ cookiecutter.package_name }}.io import registry
from {{ cookiecutter.package_name }}.release.promote import CHAMPION

pytestmark = pytest.mark.slow
runner = CliRunner()


def _train_and_promote() -> str:
    trained = runner.invoke(app, ["train", "--config", "configs/smoke.yaml"])
    assert trained.exit_code == 0, trained.output
    uri = trained.stdout.strip().splitlines()[-1].split()[1]
    promoted = runner.invoke(app, ["promote", "--model", uri, "--config", "configs/smoke.yaml"])
    assert promoted.exit_code == 0, promoted.output
    return promoted.stdout


def test_a_version_on_a_changed_schema_replaces_a_champion_it_cannot_be_compared_with(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert "there was no champion yet" in _train_and_promote()

    # The team drops a raw feature from the model: the champion needs a column that is gone.
    contract = yaml.safe_load(schema_module.SCHEMA_FILE.read_text(encoding="utf-8"))
    raw = [name for name in feature_names() if name in contract["columns"]]
    contract["columns"][raw[0]]["feature"] = False
    changed = workdir / "schema.yaml"
    changed.write_text(yaml.safe_dump(contract, allow_unicode=True), encoding="utf-8")
    monkeypatch.setattr(schema_module, "SCHEMA_FILE", changed)

    output = _train_and_promote()
    assert "promoted version 2 over 1: the champion was trained on features" in output
    name = yaml.safe_load(Path("configs/smoke.yaml").read_text())["registry"]["model_name"]
    assert registry.alias_version(name, CHAMPION) == "2"
