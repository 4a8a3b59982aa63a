import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }}.core.config import MonitoringConfig
from {{ cookiecutter.package_name }}.core.schema import Kind
from {{ cookiecutter.package_name }}.monitoring.summary import (
    DriftCheck,
    DriftResult,
    Quality,
    QualityCheck,
    Summary,
    alert_text,
    terminal,
)
from {{ cookiecutter.package_name }}.monitoring.window import Window

START, END = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC)
# The summary is told its columns by the drift result: nine of its own, any names will do.
COLUMNS: list[tuple[str, Kind]] = [
    ("Plan type", "categorical"),
    ("région", "categorical"),
    ("select", "categorical"),
    ("Monthly Spend (€)", "numeric"),
    ('say "hi"', "numeric"),
    ("a.b", "numeric"),
    ("n1", "numeric"),
    ("n2", "numeric"),
    ("n3", "numeric"),
]
FIRST, SECOND, THIRD, NUMBER = "Plan type", "région", "select", "Monthly Spend (€)"


def drift(drifted: set[str], empty: frozenset[str] = frozenset()) -> DriftResult:
    return DriftResult(
        columns=[
            DriftCheck(
                column=name,
                kind=kind,
                method="no values" if name in empty else "wasserstein",
                score=None if name in empty else (0.5 if name in drifted else 0.01),
                threshold=0.1,
                drifted=name in drifted | empty,
            )
            for name, kind in COLUMNS
        ],
        prediction=DriftCheck("probability", "numeric", "wasserstein", 0.02, 0.1, False),
    )


def summary(result: DriftResult | None, **changes: object) -> Summary:
    values: dict[str, object] = {
        "requested": "models:/m@champion",
        "model_uri": "models:/m/3",
        "model_run_id": "run",
        "window": Window(START, END),
        "rows": 5000,
        "analysed": 5000,
        "malformed": 2,
        "other_versions": {"m/2": 40},
        "reference_rows": 3000,
        "monitoring": MonitoringConfig(),
        "drift": result,
        "quality": Quality(labelled_rows=0, note="no labels yet"),
        "report": Path("out/report.html"),
        "created": END,
    }
    return Summary(**{**values, **changes})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("drifted", "verdict", "code"),
    [
        (set(), "ok", 0),
        ({NUMBER}, "ok", 0),  # 1 of 9 < 0.2
        ({NUMBER, FIRST}, "drift", 3),  # 2 of 9 >= 0.2
    ],
)
def test_verdict_is_the_share_of_drifted_features(
    drifted: set[str], verdict: str, code: int
) -> None:
    found = summary(drift(drifted))
    assert (found.verdict, found.exit_code) == (verdict, code)


def test_share_equal_to_the_threshold_is_drift() -> None:
    monitoring = MonitoringConfig(drift_share=1 / 3)
    assert summary(drift({FIRST, SECOND, THIRD}), monitoring=monitoring).verdict == "drift"


def test_too_few_rows_has_its_own_exit_code() -> None:
    found = summary(None, rows=10, analysed=10, report=None)
    assert (found.verdict, found.exit_code) == ("too_few_rows", 4)
    assert "too few rows to judge drift: 10 < monitoring.min_rows 1,000" in terminal(found)


def test_a_feature_without_values_counts_as_drifted() -> None:
    found = summary(drift({NUMBER}, empty=frozenset({FIRST})))
    assert found.verdict == "drift"
    first = found.to_json()["drift"]["columns"][0]
    assert first == {
        "column": FIRST,
        "kind": "categorical",
        "method": "no values",
        "score": None,
        "threshold": 0.1,
        "drifted": True,
    }


def test_json_summary_has_window_version_rows_and_every_column() -> None:
    found = summary(drift({NUMBER, FIRST}), analysed=1000)
    data = json.loads(json.dumps(found.to_json()))
    assert data["verdict"] == "drift"
    assert data["model"] == {
        "requested": "models:/m@champion",
        "uri": "models:/m/3",
        "run_id": "run",
    }
    assert data["window"] == {"start": START.isoformat(), "end": END.isoformat()}
    assert data["rows"]["sampled"] is True
    assert data["rows"]["malformed_lines"] == 2
    assert data["rows"]["other_versions"] == {"m/2": 40}
    assert data["drift"]["share_drifted"] == pytest.approx(2 / 9)
    assert data["drift"]["drifted_columns"] == [FIRST, NUMBER]
    assert [c["column"] for c in data["drift"]["columns"]] == [name for name, _ in COLUMNS]
    assert data["drift"]["prediction"]["column"] == "probability"
    assert data["settings"]["drift_share"] == 0.2
    assert data["report"] == "report.html"


def test_metrics_for_the_registry_skip_missing_values() -> None:
    quality = Quality(5, [QualityCheck("roc_auc", 0.8, 0.7), QualityCheck("f1", 0.5, None)])
    found = summary(drift({NUMBER}, empty=frozenset({FIRST})), quality=quality).metrics()
    assert found["share_drifted"] == pytest.approx(2 / 9)
    assert found[f"drift.{NUMBER}"] == 0.5
    assert f"drift.{FIRST}" not in found
    assert found["live.roc_auc"] == 0.7
    assert "live.f1" not in found
    assert found["other_version_rows"] == 40


def test_values_clipped_to_the_reference_are_counted_everywhere() -> None:
    result = drift(set())
    clipped = DriftResult(result.columns, result.prediction, clipped={NUMBER: 3, "a.b": 1})
    found = summary(clipped)
    assert found.to_json()["rows"]["clipped_values"] == {NUMBER: 3, "a.b": 1}
    assert found.metrics()["clipped_values"] == 4
    assert f"4 value(s) far outside the reference clipped ({NUMBER}: 3, a.b: 1)" in terminal(found)
    unclipped = summary(result)
    assert unclipped.to_json()["rows"]["clipped_values"] == {}
    assert "clipped" not in terminal(unclipped)
    assert summary(None).to_json()["rows"]["clipped_values"] == {}


def test_terminal_and_alert_name_the_drifted_columns() -> None:
    result = drift({NUMBER, FIRST})
    found = summary(result)
    screen = terminal(found)
    assert NUMBER in screen and "DRIFT" in screen
    assert "drifted features: 2 of 9 (22%); threshold 20%" in screen
    assert "rows of other versions ignored (m/2: 40)" in screen
    assert screen.endswith("verdict: drift (exit 3)")
    assert len(screen.splitlines()) < 25, "one screen"
    text = alert_text(found, result)
    assert text.startswith("Drift detected for models:/m/3: 2 of 9 features drifted")
    assert f"{FIRST} (wasserstein 0.500)" in text


def test_quality_is_shown_next_to_training() -> None:
    quality = Quality(120, [QualityCheck("roc_auc", 0.8, 0.7)])
    screen = terminal(summary(drift(set()), quality=quality))
    assert "live quality on 120 labelled rows" in screen
    assert "-0.1000" in screen
