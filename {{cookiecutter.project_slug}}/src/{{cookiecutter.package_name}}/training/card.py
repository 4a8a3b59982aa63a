"""A model card for each registered version, written from its own metadata at training time.

Built with skops' model cards: what data the version was trained on, which features it reads,
its test metrics next to the trivial baseline's and the champion's at training time, how the gate
judges it, and the intended use and limits, left for the team to fill in.
"""

from dataclasses import dataclass
from typing import Any

from sklearn.pipeline import Pipeline
from skops.card import Card

from ..core.config import ProjectConfig
from ..core.schema import schema

TO_FILL_IN = "_To fill in by the team: {what}._"


@dataclass(frozen=True)
class CardFacts:
    """What a card says about one version: identity, provenance, data and results."""

    name: str
    version: str
    run_id: str
    tags: dict[str, str]
    manifest: dict[str, Any]
    metrics: dict[str, float]
    baseline_metrics: dict[str, float]
    champion: tuple[str, dict[str, float]] | None


def _number(value: float | None) -> str:
    return "—" if value is None else f"{value:.4f}"


def _metrics_table(facts: CardFacts) -> str:
    champion = f"champion (version {facts.champion[0]})" if facts.champion else "champion"
    champion_metrics = facts.champion[1] if facts.champion else {}
    rows = [
        f"| {name} | {_number(value)} | {_number(facts.baseline_metrics.get(name))} | "
        f"{_number(champion_metrics.get(name))} |"
        for name, value in facts.metrics.items()
    ]
    note = (
        ""
        if facts.champion
        else "\n\nThere was no champion when this version was trained: it is the first candidate."
    )
    header = f"| metric | this version | trivial baseline | {champion} |\n|---|---|---|---|\n"
    return header + "\n".join(rows) + note


def _features(config: ProjectConfig) -> str:
    contract = schema()
    used = set(config.model.features())
    derived = {f.name for f in contract.derived}
    lines = [
        f"- `{f.name}` ({f.kind}{', derived' if f.name in derived else ''})"
        for f in contract.features
        if f.name in used
    ]
    left_out = [f"`{name}`" for name in config.model.exclude_features]
    if left_out:
        lines.append(f"- left out by the config: {', '.join(left_out)}")
    return "\n".join(lines)


def model_card(model: Pipeline, config: ProjectConfig, facts: CardFacts) -> str:
    """The version's card as Markdown."""
    uri = f"models:/{facts.name}/{facts.version}"
    manifest = facts.manifest
    card = Card(model, template=None)
    card.add(
        **{
            "Model card": (
                f"A {config.problem_type} model (`{config.model.estimator}`) registered as `{uri}` "
                f"by run `{facts.run_id}` of experiment `{config.registry.experiment}`."
            ),
            "Provenance": "\n".join(
                f"- {key}: `{facts.tags[key]}`"
                for key in (
                    "git_commit",
                    "config_fingerprint",
                    "template_version",
                    "python_version",
                )
                if key in facts.tags
            ),
            "Training data": (
                f"- source: `{manifest.get('source')}` "
                f"(SHA-256 `{manifest.get('source_sha256')}`)\n"
                f"- rows: {manifest.get('rows')}; "
                f"reference date (`as_of`): {manifest.get('as_of')}\n"
                f"- feature table fingerprint: `{manifest.get('fingerprint')}`\n"
                f"- target: `{schema().target}`; held-out share {config.split.test_size}, "
                f"seed {config.split.seed}"
            ),
            "Features": _features(config),
            "Evaluation": _metrics_table(facts),
            "Gate verdict": (
                "Not judged at training time. `make promote MODEL="
                + uri
                + "` compares it with the "
                "champion on the same held-out data and records the decision as the version's "
                "`promotion` tag."
            ),
            "Intended use": TO_FILL_IN.format(what="who uses the predictions, for what decision"),
            "Limitations": TO_FILL_IN.format(
                what="populations, periods or inputs it was not trained for, known failure modes"
            ),
        }
    )
    text: str = card.render()
    return text.strip() + "\n"
