"""Promotion: move the `champion` alias to a version that passes the gate against the champion."""

from dataclasses import dataclass
from pathlib import Path

from ..core.config import ProjectConfig
from ..core.metrics import score
from ..core.model_uri import parse_model_uri, version_uri
from ..core.schema import feature_names
from ..features import build_features, split
from ..io import registry
from . import gate, metrics_file

CHAMPION = registry.CHAMPION


@dataclass(frozen=True)
class Promotion:
    """The decision about one candidate version, and the comparison behind it."""

    name: str
    version: str
    champion: str | None
    promoted: bool
    result: gate.GateResult | None
    schema_changed: bool = False

    @property
    def reason(self) -> str:
        """One line saying what happened and why."""
        if self.champion is None:
            return f"promoted version {self.version}: there was no {CHAMPION} yet"
        if self.champion == self.version:
            return f"version {self.version} is already the {CHAMPION}"
        if self.schema_changed:
            return (
                f"promoted version {self.version} over {self.champion}: the {CHAMPION} was "
                "trained on features schema.yaml no longer has, so the gate cannot compare them"
            )
        if self.promoted:
            return f"promoted version {self.version} over {self.champion}: the gate passed"
        return f"kept version {self.champion} as {CHAMPION}: version {self.version} failed the gate"


def promote(model: str, config: ProjectConfig, source: Path) -> Promotion:
    """Score candidate and champion on the same held-out data; move the alias if it passes."""
    rules = gate.gate_section(config, source).rules
    parsed = parse_model_uri(model, exact=True)
    name, version = parsed.name, str(parsed.version)
    candidate_model = registry.load_model(model)
    champion = registry.alias_version(name, CHAMPION)
    if champion is None or champion == version:
        decision = Promotion(name, version, champion, promoted=champion is None, result=None)
    else:
        # Every schema feature: each model picks the columns it was trained on.
        parts = split(build_features(config.data).frame, config, feature_names())
        champion_model = registry.load_model(version_uri(name, champion))
        needed = set(getattr(champion_model, "feature_names_in_", ()))
        if not needed <= set(parts.x_test.columns):
            decision = Promotion(name, version, champion, True, None, schema_changed=True)
            return _record(decision)
        result = gate.compare(
            score(config.problem_type, config.metrics, candidate_model, parts.x_test, parts.y_test),
            score(config.problem_type, config.metrics, champion_model, parts.x_test, parts.y_test),
            rules,
        )
        decision = Promotion(name, version, champion, promoted=result.passed, result=result)
    return _record(decision)


def _record(decision: Promotion) -> Promotion:
    """Move the alias if promoted; tag the candidate with the decision either way."""
    if decision.promoted:
        registry.set_alias(decision.name, CHAMPION, decision.version)
    tag = f"{metrics_file.now()} {decision.reason}"
    registry.tag_version(decision.name, decision.version, "promotion", tag)
    return decision
