"""The metrics gate: a candidate's metrics against a baseline's, under per-metric rules.

`compare` is pure: it takes metrics and provenance and returns checks, a verdict and a Markdown
table; `run` and `update_baseline` read and write the metrics files. The rules, documented in the
README ("The metrics gate"):

- a gated metric fails when it got worse by more than `max(abs_tol, rel_tol * |baseline|)`;
- a metric the baseline has but the candidate lacks fails (`missing`);
- a gated metric the baseline lacks passes as `new` (update the baseline to start tracking it);
- a candidate or baseline value that is NaN or infinite fails (`not a number`);
- a metric without a rule is shown (`no rule`) and never fails;
- a baseline from different data (data fingerprint) fails: the numbers are not comparable;
- a baseline from a different config is compared anyway and said so: judging a config change
  is the gate's job.
"""

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from ..core.config import GateConfig, MetricRule, ProjectConfig
from ..core.errors import UserError
from . import metrics_file

MetricVerdict = Literal[
    "pass", "improved", "regressed", "missing", "new", "not a number", "no rule"
]
FAILING: frozenset[MetricVerdict] = frozenset({"regressed", "missing", "not a number"})


@dataclass(frozen=True)
class Check:
    """The outcome for one metric."""

    metric: str
    baseline: float | None
    candidate: float | None
    tolerance: float | None
    verdict: MetricVerdict

    @property
    def change(self) -> float | None:
        """Candidate minus baseline, when both exist."""
        if self.baseline is None or self.candidate is None:
            return None
        return self.candidate - self.baseline


@dataclass(frozen=True)
class GateResult:
    """Every metric's check, provenance findings, and the overall verdict."""

    checks: list[Check]
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """True when no check fails and the provenance is comparable."""
        return not self.problems and not any(c.verdict in FAILING for c in self.checks)


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def check_metric(
    metric: str, baseline: float | None, candidate: float | None, rule: MetricRule | None
) -> Check:
    """Apply one rule (or none) to one metric."""
    if candidate is None:
        return Check(metric, baseline, None, None, "missing")
    if rule is None:
        return Check(metric, baseline, candidate, None, "no rule")
    if baseline is None:
        return Check(metric, None, candidate, None, "new")
    tolerance = max(rule.abs_tol, rule.rel_tol * abs(baseline))
    if not (_finite(candidate) and _finite(baseline)):
        return Check(metric, baseline, candidate, tolerance, "not a number")
    worse = baseline - candidate if rule.direction == "higher" else candidate - baseline
    if worse > tolerance:
        verdict: MetricVerdict = "regressed"
    elif worse < 0:
        verdict = "improved"
    else:
        verdict = "pass"
    return Check(metric, baseline, candidate, tolerance, verdict)


def compare(
    candidate: dict[str, float],
    baseline: dict[str, float],
    rules: dict[str, MetricRule],
    provenance: tuple[dict[str, str], dict[str, str]] | None = None,
) -> GateResult:
    """Check every metric either side has; with (candidate, baseline) provenance, check that too."""
    names = sorted(set(candidate) | set(baseline) | set(rules))
    checks = [check_metric(n, baseline.get(n), candidate.get(n), rules.get(n)) for n in names]
    problems, notes = [], []
    if provenance is not None:
        new, old = provenance
        if new.get("data_fingerprint") != old.get("data_fingerprint"):
            before, after = old.get("data_fingerprint", ""), new.get("data_fingerprint", "")
            problems.append(
                "the baseline was computed on different data (data fingerprint "
                f"{before[:12]} vs {after[:12]}): review the change, then record a new baseline "
                "with `gate --update-baseline`"
            )
        if new.get("config_fingerprint") != old.get("config_fingerprint"):
            notes.append("the config changed since the baseline; metrics are compared anyway")
    return GateResult(checks, problems, notes)


def _number(value: float | None) -> str:
    return "—" if value is None else f"{value:.6g}"


def _signed(value: float | None) -> str:
    return "—" if value is None else f"{value:+.6g}"


def markdown(result: GateResult, title: str = "Metrics gate") -> str:
    """The result as a Markdown table with a verdict line."""
    lines = [
        f"### {title}: {'PASSED' if result.passed else 'FAILED'}",
        "",
        "| metric | baseline | candidate | change | tolerance | verdict |",
        "|---|---|---|---|---|---|",
    ]
    for c in result.checks:
        mark = "❌ " if c.verdict in FAILING else ""
        lines.append(
            f"| {c.metric} | {_number(c.baseline)} | {_number(c.candidate)} | "
            f"{_signed(c.change)} | {_number(c.tolerance)} | {mark}{c.verdict} |"
        )
    lines += [""] + [f"- ❌ {p}" for p in result.problems] + [f"- {n}" for n in result.notes]
    return "\n".join(lines).rstrip() + "\n"


def gate_section(config: ProjectConfig, source: Path) -> GateConfig:
    """The config's gate section, or a UserError saying how to add one."""
    if config.gate is None:
        raise UserError(f"{source} has no gate section; add one (see configs/smoke.yaml)")
    return config.gate


def run(config: ProjectConfig, source: Path) -> GateResult:
    """Compare the candidate metrics file with the committed baseline."""
    section = gate_section(config, source)
    candidate = metrics_file.read(section.candidate, "candidate")
    baseline = metrics_file.read(section.baseline, "baseline")
    return compare(
        candidate.metrics,
        baseline.metrics,
        section.rules,
        (candidate.provenance(), baseline.provenance()),
    )


def update_baseline(config: ProjectConfig, source: Path) -> Path:
    """Record the current candidate as the new baseline (provenance kept, date updated)."""
    section = gate_section(config, source)
    candidate = metrics_file.read(section.candidate, "candidate")
    metrics_file.write(
        section.baseline, candidate.model_copy(update={"created": metrics_file.now()})
    )
    return section.baseline
