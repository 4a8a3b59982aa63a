"""Release steps: the metrics gate over metrics files, baseline updates, and model promotion."""

from dataclasses import dataclass
from pathlib import Path

from . import gate, metrics_file, registry
from .config import GateConfig, TrainConfig
from .errors import UserError
from .features import build_features
from .schema import feature_names
from .training import score, split

CHAMPION = registry.CHAMPION


def gate_config(config: TrainConfig, source: Path) -> GateConfig:
    """The config's gate section, or a UserError saying how to add one."""
    if config.gate is None:
        raise UserError(f"{source} has no gate section; add one (see configs/smoke.yaml)")
    return config.gate


def run_gate(config: TrainConfig, source: Path) -> gate.GateResult:
    """Compare the candidate metrics file with the committed baseline."""
    settings = gate_config(config, source)
    candidate = metrics_file.read(settings.candidate, "candidate")
    baseline = metrics_file.read(settings.baseline, "baseline")
    return gate.compare(
        candidate.metrics,
        baseline.metrics,
        settings.rules,
        (candidate.provenance(), baseline.provenance()),
    )


def update_baseline(config: TrainConfig, source: Path) -> Path:
    """Record the current candidate as the new baseline (provenance kept, date updated)."""
    settings = gate_config(config, source)
    candidate = metrics_file.read(settings.candidate, "candidate")
    metrics_file.write(
        settings.baseline, candidate.model_copy(update={"created": metrics_file.now()})
    )
    return settings.baseline


@dataclass(frozen=True)
class Promotion:
    """The decision about one candidate version, and the comparison behind it."""

    name: str
    version: str
    champion: str | None
    promoted: bool
    result: gate.GateResult | None

    @property
    def reason(self) -> str:
        """One line saying what happened and why."""
        if self.champion is None:
            return f"promoted version {self.version}: there was no {CHAMPION} yet"
        if self.champion == self.version:
            return f"version {self.version} is already the {CHAMPION}"
        if self.promoted:
            return f"promoted version {self.version} over {self.champion}: the gate passed"
        return f"kept version {self.champion} as {CHAMPION}: version {self.version} failed the gate"


def promote(uri: str, config: TrainConfig, source: Path) -> Promotion:
    """Score candidate and champion on the same held-out data; move the alias if it passes."""
    settings = gate_config(config, source)
    name, version = registry.parse_version_uri(uri)
    candidate_model = registry.load_model(uri)
    champion = registry.alias_version(name, CHAMPION)
    if champion is None or champion == version:
        decision = Promotion(name, version, champion, promoted=champion is None, result=None)
    else:
        # Every schema feature: each model picks the columns it was trained on.
        parts = split(build_features(config.data).frame, config, feature_names())
        champion_model = registry.load_model(registry.model_uri(name, champion))
        result = gate.compare(
            score(candidate_model, parts, config),
            score(champion_model, parts, config),
            settings.rules,
        )
        decision = Promotion(name, version, champion, promoted=result.passed, result=result)
    if decision.promoted:
        registry.set_alias(name, CHAMPION, version)
    registry.tag_version(name, version, "promotion", f"{metrics_file.now()} {decision.reason}")
    return decision
