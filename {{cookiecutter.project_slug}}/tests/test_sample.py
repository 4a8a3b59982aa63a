"""About the shipped sample data only (data/sample/customers.csv), not about the machinery.

Every other test builds its data from schema.yaml or reads the configs' data. These few check
what the template promises about its sample; they skip once the sample is gone, or once
schema.yaml or configs/v1.yaml describe other data (after `schema infer` on your own table).
"""

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.core.config import load_config
from {{ cookiecutter.package_name }}.core.schema import schema
from {{ cookiecutter.package_name }}.features import build_features
from {{ cookiecutter.package_name }}.replay import EXAMPLE_FILE, example_request
from tests.helpers import PROJECT, project_config, run_process

if TYPE_CHECKING:
    from {{ cookiecutter.package_name }}.training.train import Evaluation

SAMPLE = Path("data/sample/customers.csv")


def _not_about_the_sample() -> str | None:
    """Why the sample tests do not apply here, or None when they do."""
    if not (PROJECT / SAMPLE).is_file():
        return f"the sample data ({SAMPLE}) is gone; these tests are about it only"
    header = list(pd.read_csv(PROJECT / SAMPLE, nrows=0).columns)
    names = [column.name for column in schema().raw_columns]
    raw_path = load_config(PROJECT / "configs" / "v1.yaml").data.raw_path
    if header != names or raw_path != SAMPLE:
        return (
            f"schema.yaml and configs/v1.yaml describe other data than the sample ({SAMPLE}); "
            "these tests are about it only"
        )
    return None


_REASON = _not_about_the_sample()
if _REASON is not None:
    pytest.skip(_REASON, allow_module_level=True)
pytestmark = pytest.mark.sample


def test_sample_data_has_what_the_template_promises() -> None:
    frame = pd.read_csv(PROJECT / SAMPLE)
    assert len(frame) >= 2000
    assert (PROJECT / SAMPLE).stat().st_size < 1_000_000
    nullable = [column.name for column in schema().raw_columns if column.nullable]
    assert nullable, "the sample shows missing values"
    assert frame[nullable].isna().any().all(), "every nullable column has missing values"


def test_the_generator_writes_the_sample_byte_for_byte(tmp_path: Path) -> None:
    out = tmp_path / "customers.csv"
    generator = PROJECT / "scripts" / "make_sample_data.py"
    done = run_process([sys.executable, str(generator), "--out", str(out)], timeout=120)
    assert done.returncode == 0, done.stderr
    assert out.read_bytes() == (PROJECT / SAMPLE).read_bytes()


def test_the_worked_example_s_derived_features(tmp_path: Path) -> None:
    config = project_config("smoke.yaml", features_dir=tmp_path, sample_rows=None)
    features = build_features(config.data).frame
    assert {"tenure_days", "signup_month", "tickets_per_year"} <= set(schema().feature_names())
    assert (features["tenure_days"] > 0).all()
    assert features["signup_month"].between(1, 12).all()
    assert (features["tickets_per_year"] >= 0).all()


# The full model must clearly beat a trivial one (class prior or mean) on the sample data.
CLEAR_MARGIN = {"roc_auc": 0.15, "average_precision": 0.15, "r2": 0.3}


def test_full_config_clearly_beats_the_trivial_baseline(full_run: "Evaluation") -> None:
    checked = [name for name in CLEAR_MARGIN if name in full_run.metrics]
    assert checked
    for name in checked:
        assert full_run.metrics[name] >= full_run.baseline_metrics[name] + CLEAR_MARGIN[name]


def test_the_shipped_example_request_is_the_samples_first_rows() -> None:
    config = project_config("v1.yaml")
    assert (PROJECT / EXAMPLE_FILE).read_text() == example_request(
        config.data.raw_path, config.data
    ), "examples/request.json is out of date: run `make example-request`"
