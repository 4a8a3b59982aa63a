from pathlib import Path

import numpy as np
import pytest

from {{ cookiecutter.package_name }}.core.config import load_config
from {{ cookiecutter.package_name }}.features import build_features, split
from {{ cookiecutter.package_name }}.io import registry
from {{ cookiecutter.package_name }}.io.exported_model import CARD_FILE
from {{ cookiecutter.package_name }}.training.train import Evaluation, train
from tests.helpers import registered_versions


def test_full_config_beats_the_trivial_baseline(full_run: Evaluation) -> None:
    """The model learns something from the configs' data: better than the prior or the mean."""
    better = {"roc_auc": "higher", "average_precision": "higher", "r2": "higher", "rmse": "lower"}
    checked = [name for name in better if name in full_run.metrics]
    assert checked
    for name in checked:
        model, trivial = full_run.metrics[name], full_run.baseline_metrics[name]
        assert model > trivial if better[name] == "higher" else model < trivial, name


@pytest.mark.slow
def test_smoke_run_registers_a_version_and_repeats_exactly(workdir: Path) -> None:
    config = load_config(Path("configs/smoke.yaml"))
    first = train(config)
    second = train(config)
    assert first.version.uri == f"models:/{config.registry.model_name}/1"
    assert second.version.uri == f"models:/{config.registry.model_name}/2"
    assert first.metrics == second.metrics
    assert first.data_fingerprint == second.data_fingerprint
    np.testing.assert_array_equal(first.test_predictions, second.test_predictions)
    assert registered_versions(config.registry.model_name) == ["1", "2"]
    assert (workdir / "mlflow.db").is_file()
    assert (workdir / "mlartifacts").is_dir()

    model = registry.load_model(first.version.uri)
    parts = split(build_features(config.data).frame, config)
    np.testing.assert_array_equal(model.predict(parts.x_test), first.test_predictions)

    # Each version's model card travels with it: stored with the run, copied by the export.
    registry.export_model(second.version.uri, workdir / "export")
    card = (workdir / "export" / CARD_FILE).read_text()
    assert second.version.uri in card and "trivial baseline" in card
