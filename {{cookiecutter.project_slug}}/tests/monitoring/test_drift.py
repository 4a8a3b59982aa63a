"""What drift measuring hands Evidently: numbers far outside the reference clipped, and counted."""

import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.core.config import MonitoringConfig
from {{ cookiecutter.package_name }}.core.schema import feature_names
from {{ cookiecutter.package_name }}.monitoring.drift import (
    CLIP_WIDTHS,
    LARGEST,
    DriftRequest,
    DriftScores,
    clip_range,
    measure,
)
from tests.helpers import feature_records

MAX = sys.float_info.max


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ([10.0, 20.0, None], (10 - CLIP_WIDTHS * 10, 20 + CLIP_WIDTHS * 10)),
        ([-4.0, -4.0], (-4 - CLIP_WIDTHS * 4, -4 + CLIP_WIDTHS * 4)),
        ([0.0, math.inf], (-CLIP_WIDTHS, CLIP_WIDTHS)),
        ([-MAX, MAX], (-LARGEST, LARGEST)),
        ([math.nan, math.inf], (-LARGEST, LARGEST)),
    ],
)
def test_the_clip_range_is_the_reference_s_widened_and_finite(
    reference: list[float | None], expected: tuple[float, float]
) -> None:
    assert clip_range(pd.Series(reference, dtype="float64")) == pytest.approx(expected)


def frame(rows: int, seed: int) -> pd.DataFrame:
    """Rows of every schema feature (numbers as floats) and a score column."""
    records = pd.DataFrame(feature_records(rows, seed=seed))
    numeric = feature_names("numeric")
    records[numeric] = records[numeric].astype("float64")
    return records.assign(probability=np.random.default_rng(seed).uniform(0, 1, rows))


def test_extreme_numbers_reach_evidently_clipped_and_are_counted(tmp_path: Path) -> None:
    reference, current = frame(200, seed=1), frame(100, seed=2)
    extreme = [MAX, -MAX, 1e308, -1e308, math.inf, -math.inf, 5e-324, math.nan]
    numeric = feature_names("numeric")
    for name in numeric:
        current.loc[: len(extreme) - 1, name] = extreme
    sent: list[DriftRequest] = []

    def run_report(request: DriftRequest) -> DriftScores:
        sent.append(request)
        return {name: (0.0, False) for name in request.reference.columns}

    result = measure(
        reference, current, MonitoringConfig(), "probability", tmp_path / "r.html", run_report
    )
    [request] = sent
    for name in [*numeric, "probability"]:
        both = pd.concat([request.reference[name], request.current[name]]).dropna()
        assert np.isfinite(both).all() and math.isfinite(both.max() - both.min()), name
        low, high = clip_range(reference[name])
        inside = current[name].between(low, high)
        assert request.current[name].between(low, high).sum() == current[name].notna().sum()
        assert request.current[name][inside].equals(current[name][inside])
        assert request.current[name].isna().sum() == current[name].isna().sum()
        if name in numeric:  # at least the six huge or infinite numbers were clipped
            assert result.clipped[name] == (current[name].notna() & ~inside).sum() >= 6
    assert "probability" not in result.clipped
