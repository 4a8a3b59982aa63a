"""The only module that talks to MLflow: tracking URI, experiments, logging, registering, loading.

(One exception, for speed: `serve` exports from the embedded registry with `sqlite_registry`,
which reads MLflow's tables itself where it knows their layout.)

Default: an embedded registry, `sqlite:///<cwd>/mlflow.db`, artefacts in `mlartifacts/` beside it.
Set MLFLOW_TRACKING_URI to use an MLflow server instead; nothing else changes.

scikit-learn (with `mlflow.sklearn`) is imported only where a model is logged, and (with skops)
where one is loaded: exporting a model, which `serve` runs in a child process while the service
starts, imports MLflow alone. Models are loaded only through skops with fixed trusted types.
"""

from __future__ import annotations

import os
import platform
import re
import tempfile
import warnings

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")

from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, Any

import mlflow
import pandas as pd
from filelock import FileLock
from mlflow.exceptions import MlflowException
from mlflow.models import ModelSignature, infer_signature
from mlflow.tracking import MlflowClient

from ..core.errors import UserError
from ..core.model_uri import parse_model_uri, version_uri
from ..core.schema import feature_names
from . import exported_model
from .sqlite_registry import REFERENCE_ARTIFACT, sqlite_path, tracking_uri

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from sklearn.pipeline import Pipeline

ARTIFACTS_FOLDER = "mlartifacts"
MODEL_REQUIREMENTS = ("mlflow", "scikit-learn", "skops", "pandas", "numpy", "scipy")
# The alias of the version in production: `promote` moves it, `monitor` checks it by default.
CHAMPION = "champion"


@dataclass(frozen=True)
class RegisteredVersion:
    """A numbered model version in the registry, and the run that made it."""

    name: str
    version: str
    run_id: str

    @property
    def uri(self) -> str:
        """The version's URI, `models:/<name>/<version>`."""
        return version_uri(self.name, self.version)


@dataclass
class TrainingRecord:
    """Everything one training run writes to the registry."""

    experiment: str
    run_name: str
    model_name: str
    model: Pipeline
    params: dict[str, Any]
    metrics: dict[str, float]
    tags: dict[str, str]
    dataset: pd.DataFrame
    dataset_source: str
    dataset_digest: str
    target: str
    training_inputs: pd.DataFrame
    input_example: pd.DataFrame
    text_artifacts: dict[str, str] = field(default_factory=dict)
    figures: dict[str, Figure] = field(default_factory=dict)
    reference: pd.DataFrame | None = None


@dataclass
class MonitoringRecord:
    """What one monitoring run writes to the registry, linked to the version it checked."""

    experiment: str
    run_name: str
    version: RegisteredVersion
    tags: dict[str, str]
    metrics: dict[str, float]
    artifacts: list[Path]


def init_registry() -> str:
    """Create the registry's schema once, under a file lock, so concurrent first runs can't race."""
    uri = tracking_uri()
    database = sqlite_path(uri)
    mlflow.set_tracking_uri(uri)
    if database is None:
        return uri
    database.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(f"{database}.lock"):
        MlflowClient(uri).search_experiments(max_results=1)
    return uri


def _experiment_id(name: str) -> str:
    """Get or create an experiment; a SQLite registry keeps its artefacts in a folder beside it."""
    client = MlflowClient()
    existing = client.get_experiment_by_name(name)
    if existing is not None:
        return str(existing.experiment_id)
    database = sqlite_path(tracking_uri())
    location = None
    if database is not None:
        location = (database.parent / ARTIFACTS_FOLDER / name).as_uri()
    try:
        return str(client.create_experiment(name, artifact_location=location))
    except MlflowException:  # another process created it first
        return str(client.get_experiment_by_name(name).experiment_id)  # type: ignore[union-attr]


def log_and_register(record: TrainingRecord) -> RegisteredVersion:
    """Log a training run (params, metrics, tags, artefacts, dataset, model); register the model."""
    import mlflow.sklearn

    from ..core.estimators import SKOPS_TRUSTED_TYPES

    init_registry()
    experiment_id = _experiment_id(record.experiment)
    with mlflow.start_run(experiment_id=experiment_id, run_name=record.run_name) as run:
        mlflow.log_params(record.params)
        mlflow.log_metrics(record.metrics)
        mlflow.set_tags(record.tags)
        for name, text in record.text_artifacts.items():
            mlflow.log_text(text, name)
        for name, figure in record.figures.items():
            mlflow.log_figure(figure, name)
        if record.reference is not None:
            _log_frame(record.reference, REFERENCE_ARTIFACT)
        with warnings.catch_warnings():
            # Two known-harmless MLflow warnings: it registers the local-file dataset source type
            # twice, then calls it ambiguous; and it hints that integer columns cannot hold
            # missing values, which concerns inputs (all floats or strings here), not the
            # integer class labels this model predicts.
            warnings.filterwarnings("ignore", message="The specified dataset source can be")
            warnings.filterwarnings("ignore", message="Hint: Inferred schema contains integer")
            dataset = mlflow.data.from_pandas(  # type: ignore[attr-defined]
                record.dataset,
                source=record.dataset_source,
                name=record.dataset_source,
                targets=record.target,
                digest=record.dataset_digest[:16],
            )
            mlflow.log_input(dataset, context="training")
            # Inferred from all training inputs, so columns that may be missing are optional.
            signature = infer_signature(
                record.training_inputs, record.model.predict(record.input_example)
            )
            info = mlflow.sklearn.log_model(
                record.model,
                name="model",
                serialization_format="skops",
                skops_trusted_types=SKOPS_TRUSTED_TYPES,
                signature=signature,
                input_example=record.input_example,
                conda_env=_model_environment(),
                registered_model_name=record.model_name,
            )
    registered = RegisteredVersion(
        name=record.model_name,
        version=str(info.registered_model_version),
        run_id=run.info.run_id,
    )
    client = MlflowClient()
    for key, value in record.tags.items():
        client.set_model_version_tag(registered.name, registered.version, key, value)
    return registered


def _model_environment() -> dict[str, Any]:
    """The model's pinned requirements as a conda env, which MLflow writes as given.

    Given as `pip_requirements`, MLflow also looks up the pip installed here to pin it in
    conda.yaml, and warns on every run in a uv environment, which has no pip.
    """
    pinned = [f"{p}=={version(p)}" for p in MODEL_REQUIREMENTS]
    return {
        "name": "mlflow-env",
        "channels": ["conda-forge"],
        "dependencies": [f"python={platform.python_version()}", "pip", {"pip": pinned}],
    }


def _log_frame(frame: pd.DataFrame, artifact: str) -> None:
    """Log a frame as a Parquet artefact of the active run."""
    folder, name = artifact.rsplit("/", 1)
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / name
        frame.to_parquet(path, index=False)
        mlflow.log_artifact(str(path), folder)


def load_model(uri: str) -> Pipeline:
    """Load a registered model by URI (`models:/<name>/<version>` or `@alias`) as serving does.

    The version is exported to a scratch folder and read with skops, trusting only the fixed
    SKOPS_TRUSTED_TYPES: never pickle, never the types a model's own MLmodel file lists.
    """
    init_registry()
    with tempfile.TemporaryDirectory() as scratch:
        export_model(uri, Path(scratch))
        _, model = exported_model.read_bundle(Path(scratch))
    return model


def alias_version(name: str, alias: str) -> str | None:
    """The version an alias points to, or None when the alias is not set."""
    init_registry()
    try:
        return str(MlflowClient().get_model_version_by_alias(name, alias).version)
    except MlflowException:
        return None


def set_alias(name: str, alias: str, version: str) -> None:
    """Point an alias (e.g. `champion`) at a version."""
    MlflowClient().set_registered_model_alias(name, alias, version)


def champion_metrics(name: str) -> tuple[str, dict[str, float]] | None:
    """The champion's version and its run's metrics, or None when there is no champion."""
    version = alias_version(name, CHAMPION)
    if version is None:
        return None
    return version, run_metrics(str(MlflowClient().get_model_version(name, version).run_id))


def log_card(run_id: str, text: str) -> None:
    """Store a version's model card with its run (`model_card.md`); `export_model` copies it."""
    MlflowClient().log_text(run_id, text, exported_model.CARD_FILE)


def tag_version(name: str, version: str, key: str, value: str) -> None:
    """Set a tag on a model version."""
    MlflowClient().set_model_version_tag(name, version, key, value)


def _copy_card(run_id: str, destination: Path) -> None:
    """Copy the version's model card into the export folder, if its run has one."""
    if any(f.path == exported_model.CARD_FILE for f in MlflowClient().list_artifacts(run_id)):
        mlflow.artifacts.download_artifacts(
            run_id=run_id, artifact_path=exported_model.CARD_FILE, dst_path=str(destination)
        )


def _signature(signature: ModelSignature | None) -> dict[str, Any]:
    """The model signature as plain JSON: input and output column specs."""
    if signature is None:
        return {}
    outputs = signature.outputs.to_dict() if signature.outputs is not None else []
    return {"inputs": signature.inputs.to_dict(), "outputs": outputs}


def export_model(uri: str, destination: Path) -> exported_model.ModelInfo:
    """Resolve a model URI to a concrete version and copy it, with its metadata, into a folder.

    An alias is resolved here, once; the folder then names the concrete version, its run, the
    training fingerprints and metrics, so a server (or an image) needs no registry to load it.
    """
    parsed = parse_model_uri(uri)
    database = sqlite_path(tracking_uri())
    if database is not None and not database.is_file():
        raise UserError(
            f"cannot load model {uri}: no registry at {database}; train a model first "
            "or set MLFLOW_TRACKING_URI"
        )
    client = MlflowClient(tracking_uri())
    name = parsed.name
    try:
        if parsed.alias:
            found = client.get_model_version_by_alias(name, parsed.alias)
        else:
            found = client.get_model_version(name, str(parsed.version))
        run = client.get_run(str(found.run_id))
        version = str(found.version)
        destination.mkdir(parents=True, exist_ok=True)
        mlflow.artifacts.download_artifacts(
            artifact_uri=version_uri(name, version), dst_path=str(destination)
        )
        _copy_card(str(found.run_id), destination)
    except MlflowException as error:
        raise UserError(f"cannot load model {uri}: {error.message}") from None
    stored = mlflow.models.Model.load(str(destination))
    flavor = stored.flavors.get("sklearn", {})
    if flavor.get("serialization_format") != "skops":
        raise UserError(f"cannot load model {uri}: not a scikit-learn model stored with skops")
    tags = found.tags or {}
    info = exported_model.ModelInfo(
        name=name,
        version=version,
        run_id=str(found.run_id),
        source_uri=uri,
        **exported_model.tagged_fields(tags),
        metrics=dict(run.data.metrics),
        signature=_signature(stored.signature),
        model_file=str(flavor["pickled_model"]),
    )
    _export_reference(str(found.run_id), destination)
    exported_model.write_info(destination, info)
    return info


def _export_reference(run_id: str, destination: Path) -> None:
    """Copy the version's reference features into the folder, if its run stored a sample."""
    with tempfile.TemporaryDirectory() as scratch:
        try:
            path = mlflow.artifacts.download_artifacts(
                run_id=run_id,
                artifact_path=REFERENCE_ARTIFACT,
                dst_path=scratch,
                tracking_uri=tracking_uri(),
            )
        except (MlflowException, OSError):  # trained before reference samples: no fast path
            return
        reference = pd.read_parquet(path)
    exported_model.write_reference(destination, reference_columns(reference))


def reference_columns(reference: pd.DataFrame) -> dict[str, list[Any]]:
    """The reference sample's feature columns as plain values, missing ones as None."""
    return {
        name: [None if pd.isna(value) else value for value in reference[name].tolist()]
        for name in feature_names()
    }


def resolve_version(uri: str) -> RegisteredVersion:
    """The concrete version behind `models:/<name>/<version>` or `models:/<name>@<alias>`."""
    parsed = parse_model_uri(uri)
    name, number, alias = parsed.name, parsed.version, parsed.alias
    init_registry()
    client = MlflowClient()
    try:
        found = (
            client.get_model_version(name, number)
            if number
            else client.get_model_version_by_alias(name, str(alias))
        )
    except MlflowException as error:
        raise UserError(f"model {uri} not found in the registry: {error.message}") from None
    return RegisteredVersion(name=name, version=str(found.version), run_id=str(found.run_id))


def load_reference(version: RegisteredVersion) -> pd.DataFrame:
    """The reference sample stored with a version at training time."""
    with tempfile.TemporaryDirectory() as scratch:
        try:
            path = mlflow.artifacts.download_artifacts(
                run_id=version.run_id, artifact_path=REFERENCE_ARTIFACT, dst_path=scratch
            )
        except (MlflowException, OSError):
            raise UserError(
                f"{version.uri} has no reference sample ({REFERENCE_ARTIFACT} in run "
                f"{version.run_id}); it predates monitoring: train a new version"
            ) from None
        return pd.read_parquet(path)


def run_metrics(run_id: str) -> dict[str, float]:
    """The metrics a run logged (latest value of each)."""
    return dict(MlflowClient().get_run(run_id).data.metrics)


def metric_key(name: str) -> str:
    """A name MLflow accepts as a metric key: other characters (e.g. of a column) become '_'."""
    return _NOT_IN_METRIC_KEYS.sub("_", name)


_NOT_IN_METRIC_KEYS = re.compile(r"[^\w.\- :/]")


def log_monitoring_run(record: MonitoringRecord) -> str:
    """Log a monitoring run linked to its version (tags both ways); return the run's id."""
    init_registry()
    experiment_id = _experiment_id(record.experiment)
    version = record.version
    tags = {
        "model_name": version.name,
        "model_version": version.version,
        "model_uri": version.uri,
        "model_run_id": version.run_id,
        **record.tags,
    }
    with mlflow.start_run(experiment_id=experiment_id, run_name=record.run_name) as run:
        mlflow.set_tags(tags)
        mlflow.log_metrics({metric_key(name): value for name, value in record.metrics.items()})
        for path in record.artifacts:
            mlflow.log_artifact(str(path))
    tag_version(version.name, version.version, "last_monitoring_run", run.info.run_id)
    return str(run.info.run_id)
