"""Typed, validated run configuration, and `load_config(path)` to read it from YAML."""

import hashlib
import json
import re
import reprlib
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from .errors import UserError
from .estimators import ESTIMATORS
from .metrics import METRICS
from .schema import SCHEMA_FILE, ProblemType, feature_names, schema

# A config is a page of settings: larger files, or aliases that expand past this many YAML nodes
# (a "billion laughs" file expands a few lines into billions), are refused before anything reads
# the values.
MAX_CONFIG_BYTES = 1024 * 1024
MAX_CONFIG_NODES = 100_000

_SHORT = reprlib.Repr()  # keyword arguments need Python 3.12
_SHORT.maxstring = _SHORT.maxother = 60
_SHORT.maxlist = _SHORT.maxdict = 4
_SHORT.maxlevel = 2


def shown(value: object) -> str:
    """A value as messages show it: its repr, cut short (never a whole document)."""
    return _SHORT.repr(value)


def names(values: list[str], most: int = 5) -> str:
    """Names from a config for a message: the first few, each cut short."""
    cut = [name if len(name) <= 60 else f"{name[:57]}..." for name in values[:most]]
    more = f" (and {len(values) - most} more)" if len(values) > most else ""
    return ", ".join(cut) + more


class Strict(BaseModel):
    """Base for every config section: unknown keys are errors and values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# An object in object storage (`s3://bucket/key`): kept as text, as a Path would fold its `//`.
S3_OBJECT = r"^s3://[^/\s]+/\S+$"
S3Object = Annotated[str, StringConstraints(pattern=S3_OBJECT)]


class DataConfig(Strict):
    """Where the raw data is, where features go, and the date features are computed at."""

    raw_path: S3Object | Path = Field(
        description="The raw table (.csv or .parquet): a local path, or s3://bucket/key."
    )
    features_dir: Path = Field(
        default=Path("data/features"),
        description="Where the feature table and its manifest are written.",
    )
    engine: Literal["duckdb", "spark"] = Field(
        default="duckdb",
        description="Where features are computed: embedded DuckDB, or Spark (`make setup-spark`).",
    )
    as_of: date | None = Field(
        default=None,
        description="Reference date of derived date features (tenure); fixed, so runs repeat.",
    )
    sample_rows: int | None = Field(
        default=None, gt=0, description="Use only the first N rows (in feature order): smoke runs."
    )

    @field_validator("raw_path", mode="before")
    @classmethod
    def _s3_uri(cls, value: object) -> object:
        """A value naming object storage must be a whole `s3://bucket/key` (not a local path)."""
        s3 = isinstance(value, str) and value.lower().startswith("s3:")
        if s3 and not re.match(S3_OBJECT, str(value)):
            raise ValueError("an object in object storage is written s3://bucket/key.parquet")
        return value


class SplitConfig(Strict):
    """How the data is split into training and test sets."""

    test_size: float = Field(
        default=0.2, gt=0.0, lt=1.0, description="Share of the rows held out for evaluation."
    )
    seed: int = Field(default=42, description="Seeds the split and the estimator.")


class ModelConfig(Strict):
    """Which estimator to fit, with which parameters, on which features."""

    estimator: str = Field(description="An estimator of core/estimators.py for the problem type.")
    params: dict[str, Any] = Field(
        default_factory=dict, description="Its parameters; checked against the estimator's own."
    )
    exclude_features: list[str] = Field(
        default_factory=list, description="Schema features the model must not use."
    )

    def features(self) -> list[str]:
        """The schema's feature columns minus the excluded ones, in schema order."""
        return [name for name in feature_names() if name not in self.exclude_features]


class RegistryConfig(Strict):
    """Where the run is recorded and under which name the model is registered."""

    experiment: str = Field(min_length=1, description="The MLflow experiment runs go to.")
    model_name: str = Field(
        min_length=1,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$",
        description="The registered model each run adds a version to.",
    )


class MetricRule(Strict):
    """How one metric may move before the gate fails."""

    direction: Literal["higher", "lower"] = Field(description="Which way is better.")
    abs_tol: float = Field(default=0.0, ge=0.0, description="Allowed worsening, absolute.")
    rel_tol: float = Field(
        default=0.0, ge=0.0, description="Allowed worsening, as a share of the reference value."
    )


class GateConfig(Strict):
    """The metrics gate: where the baseline and candidate live, and one rule per gated metric."""

    baseline: Path = Field(
        default=Path("metrics/baseline.json"),
        description="The last known-good smoke metrics (committed).",
    )
    candidate: Path = Field(
        default=Path("metrics/candidate.json"), description="The metrics the smoke run wrote."
    )
    rules: dict[str, MetricRule] = Field(
        min_length=1, description="One rule per gated metric: direction and tolerances."
    )


NumericMethod = Literal[
    "wasserstein",
    "ks",
    "psi",
    "jensenshannon",
    "kl_div",
    "hellinger",
    "anderson",
    "cramer_von_mises",
    "ed",
    "mannw",
    "t_test",
]
CategoricalMethod = Literal[
    "jensenshannon", "chisquare", "z", "psi", "kl_div", "hellinger", "TVD", "g_test"
]


THRESHOLD = "The column drifted above it (a distance) or below it (a p-value test)."


class NumericDrift(Strict):
    """How drift is measured on a numeric column: an Evidently method and its threshold."""

    method: NumericMethod = Field(default="wasserstein", description="Evidently's drift method.")
    threshold: float = Field(default=0.1, gt=0.0, description=THRESHOLD)


class CategoricalDrift(Strict):
    """How drift is measured on a categorical column: an Evidently method and its threshold."""

    method: CategoricalMethod = Field(
        default="jensenshannon", description="Evidently's drift method."
    )
    threshold: float = Field(default=0.1, gt=0.0, description=THRESHOLD)


class ColumnDrift(Strict):
    """A per-feature override of its kind's method and threshold."""

    method: NumericMethod | CategoricalMethod = Field(
        description="Evidently's drift method, one of its kind's."
    )
    threshold: float = Field(gt=0.0, description=THRESHOLD)


# An object-storage prefix (`s3://bucket/prefix`): kept as text, as a Path would fold its `//`.
S3Prefix = Annotated[str, StringConstraints(pattern=r"^s3://[^/\s]+(/\S*)?$")]


class MonitoringConfig(Strict):
    """The monitoring job: where the log is, what counts as drift, and how much data it reads."""

    log_dir: S3Prefix | Path = Field(
        default=Path("logs/predictions"),
        description="The service's PREDICTION_LOG_DIR, or the s3:// prefix it is shipped to.",
    )
    output_dir: Path = Field(
        default=Path("monitoring/reports"),
        description="One dated folder per run: report.html and summary.json.",
    )
    labels_path: Path = Field(
        default=Path("data/labels/labels.csv"),
        description="Labels keyed by request id; live quality is reported when it exists.",
    )
    reference_rows: int = Field(
        default=5000, gt=0, description="Training rows stored with each version as its baseline."
    )
    drift_share: float = Field(
        default=0.2, gt=0.0, le=1.0, description="Drift when this share of features drifted."
    )
    numeric: NumericDrift = NumericDrift()
    categorical: CategoricalDrift = CategoricalDrift()
    prediction: NumericDrift = Field(
        default=NumericDrift(), description="Drift of the prediction (probability or value)."
    )
    columns: dict[str, ColumnDrift] = Field(
        default_factory=dict, description="Per-feature overrides of method and threshold."
    )
    min_rows: int = Field(default=1000, gt=0, description="Fewer rows in a window: no verdict.")
    sample_above: int = Field(default=100_000, gt=0, description="Sample windows above this.")
    sample_rows: int = Field(default=50_000, gt=0, description="Rows in such a sample.")
    seed: int = Field(default=42, description="Seed of the window's sample.")
    alert_attempts: int = Field(default=4, ge=1, le=10, description="Webhook tries per alert.")
    alert_backoff_seconds: float = Field(
        default=2.0, ge=0.0, description="Wait before the first retry; doubles after each."
    )

    @model_validator(mode="after")
    def _check_sampling(self) -> "MonitoringConfig":
        if self.sample_rows > self.sample_above:
            raise ValueError("sample_rows must not exceed sample_above")
        if self.sample_rows < self.min_rows:
            raise ValueError("sample_rows must be at least min_rows")
        for name, rule in self.columns.items():
            kinds = {c.name: c.kind for c in schema().features}
            if name not in kinds:
                raise ValueError(
                    f"columns.{names([name])}: not a feature; features: {', '.join(kinds)}"
                )
            allowed = get_args(NumericMethod if kinds[name] == "numeric" else CategoricalMethod)
            if rule.method not in allowed:
                raise ValueError(
                    f"columns.{name}: {rule.method} does not apply to a {kinds[name]} column; "
                    f"use one of: {', '.join(allowed)}"
                )
        return self


class ProjectConfig(Strict):
    """Every step's configuration: data, split, model, metrics, registry, gate and monitoring."""

    run_name: str = Field(min_length=1, description="The MLflow run's name.")
    problem_type: ProblemType = Field(description="What the model predicts: a class or a number.")
    data: DataConfig
    split: SplitConfig = SplitConfig()
    model: ModelConfig
    metrics: list[str] = Field(
        min_length=1, description="Test metrics logged with each run (core/metrics.py)."
    )
    registry: RegistryConfig
    gate: GateConfig | None = None
    monitoring: MonitoringConfig = MonitoringConfig()

    @model_validator(mode="after")
    def _check_estimator_and_metrics(self) -> "ProjectConfig":
        known = ESTIMATORS[self.problem_type]
        if self.model.estimator not in known:
            raise ValueError(
                f"model.estimator {shown(self.model.estimator)} is not a {self.problem_type} "
                f"estimator; choose one of: {', '.join(sorted(known))}"
            )
        unknown = [m for m in self.metrics if m not in METRICS[self.problem_type]]
        if unknown:
            raise ValueError(
                f"metrics: {names(unknown)} not available for {self.problem_type}; "
                f"choose from: {', '.join(METRICS[self.problem_type])}"
            )
        contract = schema()
        if (contract.positive is None) == (self.problem_type == "classification"):
            raise ValueError(
                f"{self.problem_type} needs {SCHEMA_FILE.name} "
                + (
                    f"to name the positive class of '{contract.target}' (positive: ...)"
                    if contract.positive is None
                    else f"to have no `positive` (target '{contract.target}' is a number)"
                )
                + "; fix the schema or problem_type"
            )
        bad = sorted(set(self.model.exclude_features) - set(feature_names()))
        if bad:
            raise ValueError(
                f"model.exclude_features: {names(bad)} not a feature; "
                f"features: {', '.join(feature_names())}"
            )
        if not self.model.features():
            raise ValueError("model.exclude_features: excludes every feature; keep at least one")
        ungated = sorted(set(self.gate.rules) - set(self.metrics)) if self.gate else []
        if ungated:
            raise ValueError(
                f"gate.rules: {names(ungated)} not in metrics; add it there or drop the rule"
            )
        return self

    def fingerprint(self) -> str:
        """A hash of what determines the model and its metrics (not names or output folders)."""
        relevant = self.model_dump(
            mode="json",
            exclude={
                "run_name": True,
                "registry": True,
                "gate": True,
                "monitoring": True,
                "data": {"features_dir", "engine"},  # both engines make the same features
            },
        )
        canonical = json.dumps(relevant, sort_keys=True)
        return hashlib.sha256(canonical.encode()).hexdigest()


def _describe(error: ValidationError, most: int = 5) -> str:
    """Turn pydantic's report into one line: field path, problem, fix (the first `most` ones)."""
    parts = []
    for item in error.errors()[:most]:
        where = names([".".join(str(p) for p in item["loc"]) or "config"])
        if item["type"] == "extra_forbidden":
            parts.append(f"{where}: unknown key; remove it or fix its spelling")
        elif item["type"] == "missing":
            parts.append(f"{where}: required key is missing; add it")
        else:
            message = item["msg"].removeprefix("Value error, ")
            value = item.get("input")
            # A section's own check names what is wrong; its whole input is not worth showing.
            got = "" if isinstance(value, dict) else f" (got {shown(value)})"
            parts.append(f"{where}: {message}{got}")
    more = error.error_count() - most
    return "; ".join(parts) + (f"; and {more} more problem(s)" if more > 0 else "")


def parse_config(data: object, source: str = "config") -> ProjectConfig:
    """Validate a mapping as a ProjectConfig, raising UserError with a one-line message.

    The estimator's parameters are checked when its pipeline is built (`estimators.check_params`),
    where scikit-learn is imported anyway.
    """
    if not isinstance(data, dict):
        raise UserError(f"{source}: expected a mapping of settings, got {type(data).__name__}")
    try:
        return ProjectConfig.model_validate(data)
    except ValidationError as error:
        raise UserError(f"{source}: {_describe(error)}") from None


def _expanded_nodes(node: yaml.Node, sizes: dict[int, int], path: set[int]) -> int:
    """How many nodes `node` stands for once its aliases are expanded (shared ones counted once)."""
    if id(node) in path:  # an alias inside its own anchor: it expands without end
        return MAX_CONFIG_NODES + 1
    if id(node) not in sizes:
        children: list[yaml.Node] = []
        if isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            children = [part for pair in node.value for part in pair]
        path.add(id(node))
        total = 1
        for child in children:
            total += _expanded_nodes(child, sizes, path)
            if total > MAX_CONFIG_NODES:
                break
        path.discard(id(node))
        sizes[id(node)] = total
    return sizes[id(node)]


def read_yaml(path: Path) -> object:
    """A YAML file's data, bounded: at most MAX_CONFIG_BYTES, MAX_CONFIG_NODES once expanded.

    Any problem (missing file, too large, bad syntax, an alias bomb) is a one-line UserError.
    """
    if not path.is_file():
        raise UserError(
            f"config file {path} not found; pass an existing file, e.g. configs/v1.yaml"
        )
    if path.stat().st_size > MAX_CONFIG_BYTES:
        raise UserError(
            f"{path}: larger than {MAX_CONFIG_BYTES // 1024} KiB; a config is a page of settings"
        )
    try:
        loader = yaml.SafeLoader(path.read_text(encoding="utf-8"))
        try:
            node = loader.get_single_node()
            if node is None:
                return None
            if _expanded_nodes(node, {}, set()) > MAX_CONFIG_NODES:
                raise UserError(
                    f"{path}: its aliases expand to more than {MAX_CONFIG_NODES} values; "
                    "write the settings out instead of nesting aliases"
                )
            return loader.construct_document(node)
        finally:
            loader.dispose()
    except RecursionError:
        raise UserError(f"{path}: nested too deeply; a config is a page of settings") from None
    except UnicodeDecodeError:
        raise UserError(f"{path}: not UTF-8 text; save it as UTF-8") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise UserError(f"{path}: not valid YAML{where}; fix the syntax") from None


def load_config(path: Path) -> ProjectConfig:
    """Read (bounded, see `read_yaml`) and validate a YAML config file."""
    return parse_config(read_yaml(path), str(path))


def read_problem_type(path: Path) -> ProblemType:
    """Only `problem_type` from a config file: what `schema infer` checks the target against.

    The rest is not validated here, since it may name the features of the schema being replaced.
    """
    data = read_yaml(path)
    value = data.get("problem_type") if isinstance(data, dict) else None
    for problem_type in get_args(ProblemType):
        if value == problem_type:
            return problem_type  # type: ignore[no-any-return]
    raise UserError(
        f"{path}: problem_type must be one of {', '.join(get_args(ProblemType))} "
        f"(got {shown(value)})"
    )
