from pathlib import Path

import numpy as np
import pytest

from {{ cookiecutter.package_name }}.core.config import load_config
from {{ cookiecutter.package_name }}.features import build_features, split
from {{ cookiecutter.package_name }}.io import registry
from {{ cookiecutter.package_name }}.training.train import fit_and_evaluate, train
from tests.helpers import registered_versions

# The full model must clearly beat a trivial one (class prior or mean) on the sample data.
CLEAR_MARGIN = {"roc_auc": 0.15, "average_precision": 0.15, "r2": 0.3}


def test_full_config_beats_trivial_baseline(workdir: Path) -> None:
    config = load_config(Path("configs/v1.yaml"))
    parts = split(build_features(config.data).frame, config)
    _, result = fit_and_evaluate(parts, config)
    checked = [name for name in CLEAR_MARGIN if name in result.metrics]
    assert checked
    for name in checked:
        assert result.metrics[name] >= result.baseline_metrics[name] + CLEAR_MARGIN[name], name


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
