import json
from pathlib import Path

import pytest
import yaml
from mlflow.tracking import MlflowClient
from typer.testing import CliRunner

from {{ cookiecutter.package_name }}.cli import app
from {{ cookiecutter.package_name }}.features import build_features, split
from {{ cookiecutter.package_name }}.io import registry
from {{ cookiecutter.package_name }}.release.promote import CHAMPION
from {{ cookiecutter.package_name }}.training.train import fit_and_evaluate
from tests.helpers import project_config

pytestmark = pytest.mark.slow
runner = CliRunner()


@pytest.fixture(scope="module")
def strongest(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """The features that carry most of the smoke model's signal, by permutation importance.

    Taken from the model fitted on the smoke config's data: the most important features, until
    they hold two thirds of the importance, always leaving one feature to the model.
    """
    from sklearn.inspection import permutation_importance

    config = project_config("smoke.yaml", features_dir=tmp_path_factory.mktemp("importance"))
    names = config.model.features()
    if len(names) < 2:
        pytest.skip("the model has one feature: there is no model without its strongest ones")
    parts = split(build_features(config.data).frame, config)
    model, _ = fit_and_evaluate(parts, config)
    found = permutation_importance(
        model, parts.x_test, parts.y_test, n_repeats=5, random_state=config.split.seed
    )
    importance = dict(zip(names, found.importances_mean, strict=True))
    ranked = sorted(names, key=lambda name: importance[name], reverse=True)
    total = sum(max(value, 0.0) for value in importance.values())
    chosen: list[str] = []
    for name in ranked[:-1]:
        if sum(max(importance[n], 0.0) for n in chosen) >= total * 2 / 3:
            break
        chosen.append(name)
    return chosen


def _degraded(source: str, target: str, strongest: list[str]) -> None:
    """Write a copy of a config whose model may not use the strongest features."""
    config = yaml.safe_load(Path(source).read_text())
    config["model"]["exclude_features"] = strongest
    Path(target).write_text(yaml.safe_dump(config, allow_unicode=True))


def _train(config: str) -> str:
    result = runner.invoke(
        app, ["train", "--config", config, "--metrics-out", "metrics/candidate.json"]
    )
    assert result.exit_code == 0, result.output
    return result.stdout.strip().splitlines()[-1].split()[1]


def test_rerun_passes_and_degraded_model_fails_the_gate(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, strongest: list[str]
) -> None:
    summary = workdir / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    _train("configs/smoke.yaml")
    passed = runner.invoke(app, ["gate", "--report", "metrics/gate.md"])
    assert passed.exit_code == 0, passed.output
    assert "Metrics gate: PASSED" in passed.stdout
    table = Path("metrics/gate.md").read_text()
    assert summary.read_text() == table
    assert table in passed.stdout

    _degraded("configs/smoke.yaml", "configs/degraded.yaml", strongest)
    _train("configs/degraded.yaml")
    failed = runner.invoke(app, ["gate"])
    assert failed.exit_code == 1
    assert "Metrics gate: FAILED" in failed.stdout
    assert "❌ regressed" in failed.stdout
    assert "the config changed since the baseline" in failed.stdout


def test_update_baseline_records_the_candidate(workdir: Path, strongest: list[str]) -> None:
    _degraded("configs/smoke.yaml", "configs/degraded.yaml", strongest)
    _train("configs/degraded.yaml")
    candidate = json.loads(Path("metrics/candidate.json").read_text())
    updated = runner.invoke(app, ["gate", "--update-baseline"])
    assert updated.exit_code == 0, updated.output
    baseline = json.loads(Path("metrics/baseline.json").read_text())
    assert baseline["metrics"] == candidate["metrics"]
    for key in ("config_fingerprint", "data_fingerprint", "git_commit", "model_uri"):
        assert baseline[key] == candidate[key]
    assert runner.invoke(app, ["gate"]).exit_code == 0


def test_gate_input_errors_are_one_line(workdir: Path) -> None:
    missing = runner.invoke(app, ["gate"])
    assert missing.exit_code == 2
    assert missing.stderr.startswith("error: candidate metrics file metrics/candidate.json")
    assert "not found; run `make smoke` first" in missing.stderr
    Path("metrics/candidate.json").write_text("{not json")
    broken = runner.invoke(app, ["gate"])
    assert broken.exit_code == 2
    assert "is not a valid metrics record" in broken.stderr


def test_promote_moves_the_champion_only_through_the_gate(
    workdir: Path, strongest: list[str]
) -> None:
    config = "configs/smoke.yaml"
    first = _train(config)
    name = first.removeprefix("models:/").rsplit("/", 1)[0]

    promoted = runner.invoke(app, ["promote", "--model", first, "--config", config])
    assert promoted.exit_code == 0, promoted.output
    assert "there was no champion yet" in promoted.stdout
    assert registry.alias_version(name, CHAMPION) == "1"

    _degraded(config, "configs/degraded.yaml", strongest)
    worse = _train("configs/degraded.yaml")
    rejected = runner.invoke(app, ["promote", "--model", worse, "--config", config])
    assert rejected.exit_code == 1
    assert "❌ regressed" in rejected.stdout
    assert f"kept version 1 as {CHAMPION}" in rejected.stdout
    assert registry.alias_version(name, CHAMPION) == "1"

    same = _train(config)
    accepted = runner.invoke(app, ["promote", "--model", same, "--config", config])
    assert accepted.exit_code == 0, accepted.output
    assert registry.alias_version(name, CHAMPION) == "3"

    tags = {v: MlflowClient().get_model_version(name, v).tags["promotion"] for v in "123"}
    assert "promoted version 1" in tags["1"]
    assert "failed the gate" in tags["2"]
    assert "promoted version 3 over 1" in tags["3"]


def test_promote_needs_an_exact_version(workdir: Path) -> None:
    result = runner.invoke(app, ["promote", "--model", "models:/x@champion"])
    assert result.exit_code == 2
    assert "is not models:/<name>/<version>" in result.stderr
