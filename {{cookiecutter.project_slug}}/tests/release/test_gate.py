import math

import pytest

from {{ cookiecutter.package_name }}.core.config import MetricRule
from {{ cookiecutter.package_name }}.release.gate import check_metric, compare, markdown

HIGHER = MetricRule(direction="higher", abs_tol=0.01)
LOWER = MetricRule(direction="lower", rel_tol=0.1)


@pytest.mark.parametrize(
    ("baseline", "candidate", "rule", "verdict"),
    [
        (0.80, 0.80, HIGHER, "pass"),
        (0.80, 0.795, HIGHER, "pass"),  # worse, but within abs_tol
        (0.80, 0.78, HIGHER, "regressed"),
        (0.80, 0.85, HIGHER, "improved"),
        (2.0, 2.15, LOWER, "pass"),  # within rel_tol * |baseline| = 0.2
        (2.0, 2.5, LOWER, "regressed"),
        (2.0, 1.0, LOWER, "improved"),
        (0.80, math.nan, HIGHER, "not a number"),
        (math.nan, 0.80, HIGHER, "not a number"),
        (0.80, math.inf, LOWER, "not a number"),
        (None, 0.80, HIGHER, "new"),
        (0.80, None, HIGHER, "missing"),
        (0.80, None, None, "missing"),
        (0.80, 0.10, None, "no rule"),
    ],
)
def test_rules(
    baseline: float | None, candidate: float | None, rule: MetricRule | None, verdict: str
) -> None:
    assert check_metric("m", baseline, candidate, rule).verdict == verdict


def test_tolerance_is_the_larger_of_absolute_and_relative() -> None:
    rule = MetricRule(direction="higher", abs_tol=0.01, rel_tol=0.05)
    assert check_metric("m", 1.0, 0.96, rule).verdict == "pass"  # 0.04 < max(0.01, 0.05)
    assert check_metric("m", 0.1, 0.092, rule).verdict == "pass"  # 0.008 < max(0.01, 0.005)
    assert check_metric("m", 0.1, 0.08, rule).verdict == "regressed"


def test_compare_verdict_and_provenance() -> None:
    rules = {"auc": HIGHER, "loss": LOWER}
    same = ({"data_fingerprint": "d1", "config_fingerprint": "c1"},) * 2
    assert compare({"auc": 0.8, "loss": 1.0}, {"auc": 0.8, "loss": 1.0}, rules, same).passed
    assert not compare({"auc": 0.7, "loss": 1.0}, {"auc": 0.8, "loss": 1.0}, rules, same).passed
    assert not compare({"auc": 0.8}, {"auc": 0.8, "loss": 1.0}, rules, same).passed

    other_data = ({"data_fingerprint": "d2", "config_fingerprint": "c1"}, same[1])
    result = compare({"auc": 0.8, "loss": 1.0}, {"auc": 0.8, "loss": 1.0}, rules, other_data)
    assert not result.passed
    assert "different data" in result.problems[0]

    other_config = ({"data_fingerprint": "d1", "config_fingerprint": "c2"}, same[1])
    result = compare({"auc": 0.9, "loss": 0.5}, {"auc": 0.8, "loss": 1.0}, rules, other_config)
    assert result.passed
    assert result.notes == ["the config changed since the baseline; metrics are compared anyway"]


def test_new_and_ungated_metrics_are_reported_but_pass() -> None:
    result = compare({"auc": 0.8, "extra": 3.0}, {}, {"auc": HIGHER})
    assert result.passed
    assert {c.metric: c.verdict for c in result.checks} == {"auc": "new", "extra": "no rule"}


def test_markdown_table() -> None:
    table = markdown(compare({"auc": 0.7}, {"auc": 0.8}, {"auc": HIGHER}))
    assert table.startswith("### Metrics gate: FAILED\n")
    assert "| metric | baseline | candidate | change | tolerance | verdict |" in table
    assert "| auc | 0.8 | 0.7 | -0.1 | 0.01 | ❌ regressed |" in table
