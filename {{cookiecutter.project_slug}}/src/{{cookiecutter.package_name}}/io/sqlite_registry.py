"""Export one version straight from the embedded SQLite registry, without importing MLflow.

`serve` exports the version it serves in a worker process while it starts. Through MLflow that
worker spends over a second of CPU importing MLflow, which a machine with no free core cannot
overlap with the service's own imports. `export_version` reads the same rows MLflow's client
reads (the version or alias, the version's tags, its run's latest metrics and artefact folders)
with `sqlite3`, copies the same files and writes the same folder as `registry.export_model`.

It does so only where it can be sure of that: a `sqlite:///` registry whose schema revision is
in KNOWN_REVISIONS (the layouts this module was checked against; the tests check that the
locked MLflow writes one), no registry or workspace settings of MLflow's own, a version that
exists and is ready, artefacts in local folders, a model stored with skops, a reference sample
of plain columns. For anything else it returns None before writing anything, and the caller
exports through MLflow, which also gives MLflow's own errors.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse
from urllib.request import url2pathname

import yaml

from ..core.model_uri import parse_model_uri
from ..core.schema import feature_names
from . import exported_model

DEFAULT_DATABASE = Path("mlflow.db")
# alembic revisions of MLflow's tracking schema whose tables this module reads (MLflow 3.17).
KNOWN_REVISIONS = frozenset({"dc11669786a5"})
# MLflow settings that change which registry or workspace a model URI names.
MLFLOW_ROUTING = ("MLFLOW_REGISTRY_URI", "MLFLOW_WORKSPACE", "MLFLOW_ENABLE_WORKSPACES")
DELETED_STAGE = "Deleted_Internal"  # MLflow marks a deleted version so until it is purged
WORKSPACE = "default"  # where MLflow keeps every model while workspaces are off
# The reference sample monitoring compares logged predictions with, stored in the training run.
REFERENCE_ARTIFACT = "reference/reference.parquet"
MODEL_META_FILE = "registered_model_meta"  # MLflow's download of a version writes it


def tracking_uri() -> str:
    """MLFLOW_TRACKING_URI if set, else the embedded SQLite registry in the working directory."""
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{DEFAULT_DATABASE.resolve()}"


def sqlite_path(uri: str) -> Path | None:
    """The database file of a `sqlite:///` tracking URI; None for any other registry."""
    return Path(uri.removeprefix("sqlite:///")) if uri.startswith("sqlite:///") else None


class _LeftToMlflow(Exception):
    """Something `export_version` cannot be sure to read as MLflow does."""


def export_version(uri: str, destination: Path) -> exported_model.ModelInfo | None:
    """Export `uri` as `registry.export_model` does, or None where MLflow must do it."""
    database = sqlite_path(tracking_uri())
    if database is None or not database.is_file() or any(map(os.environ.get, MLFLOW_ROUTING)):
        return None
    try:
        with _read_only(database) as connection:
            found = _version(connection, uri)
        name, version, run_id, model_folder, run_folder, tags, metrics = found
        flavor, signature = _stored_model(model_folder)
        reference = _reference(run_folder / REFERENCE_ARTIFACT)
    except (_LeftToMlflow, sqlite3.Error):  # sqlite3: locked, damaged or another layout
        return None
    destination.mkdir(parents=True, exist_ok=True)
    shutil.copytree(model_folder, destination, dirs_exist_ok=True)
    meta = {"model_name": name, "model_version": version}
    text = yaml.safe_dump(meta, default_flow_style=False, allow_unicode=True)
    (destination / MODEL_META_FILE).write_text(text, encoding="utf-8")
    card = run_folder / exported_model.CARD_FILE
    if card.is_file():
        shutil.copyfile(card, destination / exported_model.CARD_FILE)
    info = exported_model.ModelInfo(
        name=name,
        version=version,
        run_id=run_id,
        source_uri=uri,
        **exported_model.tagged_fields(tags),
        metrics=metrics,
        signature=signature,
        model_file=str(flavor["pickled_model"]),
    )
    if reference is not None:
        exported_model.write_reference(destination, reference)
    exported_model.write_info(destination, info)
    return info


@contextmanager
def _read_only(database: Path) -> Iterator[sqlite3.Connection]:
    """A read-only connection (it never creates or changes the file) whose revision is known."""
    with closing(sqlite3.connect(f"{database.as_uri()}?mode=ro", uri=True)) as connection:
        revision = connection.execute("SELECT version_num FROM alembic_version").fetchone()
        if revision is None or revision[0] not in KNOWN_REVISIONS:
            raise sqlite3.DatabaseError(f"schema revision {revision} is not a known one")
        yield connection


_Found = tuple[str, str, str, Path, Path, dict[str, str], dict[str, float]]


def _version(connection: sqlite3.Connection, uri: str) -> _Found:
    """The version `uri` names: its identity, artefact folders, tags and run metrics."""
    parsed = parse_model_uri(uri)
    name, number = parsed.name, parsed.version
    if parsed.alias is not None:
        row = connection.execute(
            "SELECT version FROM registered_model_aliases "
            "WHERE workspace = ? AND name = ? AND alias = ?",
            (WORKSPACE, name, parsed.alias),
        ).fetchone()
        if row is None:
            raise _LeftToMlflow(f"no alias {parsed.alias}")
        number = str(row[0])
    row = connection.execute(
        "SELECT run_id, storage_location, source, status FROM model_versions "
        "WHERE workspace = ? AND name = ? AND version = ? AND current_stage != ?",
        (WORKSPACE, name, number, DELETED_STAGE),
    ).fetchone()
    if row is None or row[3] != "READY" or not row[0]:
        raise _LeftToMlflow(f"no version {number} ready")
    run_id, location = str(row[0]), row[1] or row[2]
    run = connection.execute("SELECT artifact_uri FROM runs WHERE run_uuid = ?", (run_id,))
    run_row = run.fetchone()
    model_folder, run_folder = _local(location), _local(run_row[0] if run_row else None)
    if model_folder is None or run_folder is None:
        raise _LeftToMlflow("artefacts not in local folders")
    tags = dict(
        connection.execute(
            "SELECT key, value FROM model_version_tags "
            "WHERE workspace = ? AND name = ? AND version = ?",
            (WORKSPACE, name, number),
        ).fetchall()
    )
    metrics = {
        str(key): math.nan if is_nan else float(value)
        for key, value, is_nan in connection.execute(
            "SELECT key, value, is_nan FROM latest_metrics WHERE run_uuid = ?", (run_id,)
        )
    }
    return name, str(number), run_id, model_folder, run_folder, tags, metrics


def _local(location: str | None) -> Path | None:
    """The local folder an artefact location names (`file://` or a path), if it is one."""
    if not location:
        return None
    parsed = urlparse(location)
    if parsed.scheme == "file" and parsed.netloc in ("", "localhost"):
        folder = Path(url2pathname(unquote(parsed.path)))
    elif parsed.scheme == "":
        folder = Path(location)
    else:
        return None
    return folder if folder.is_dir() else None


def _stored_model(folder: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """The model's sklearn flavour and signature, from its MLmodel file, if stored with skops."""
    try:
        stored = yaml.safe_load((folder / "MLmodel").read_text())
        flavor = stored["flavors"]["sklearn"]
        signature = stored.get("signature") or {}
        skops = flavor["serialization_format"] == "skops" and flavor["pickled_model"]
        inputs = json.loads(signature["inputs"]) if signature else None
        outputs = json.loads(signature["outputs"]) if signature.get("outputs") else []
    except (OSError, yaml.YAMLError, ValueError, KeyError, TypeError) as error:
        raise _LeftToMlflow(f"MLmodel: {error}") from None
    if not skops:
        raise _LeftToMlflow("not stored with skops")
    return flavor, ({"inputs": inputs, "outputs": outputs} if signature else {})


def _reference(path: Path) -> dict[str, list[Any]] | None:
    """The reference sample's feature columns, or None if the run stored no sample."""
    if not path.is_file():
        return None
    try:  # pyarrow comes with MLflow, not with the serving-only environment
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise _LeftToMlflow("pyarrow is not installed") from None
    try:
        with pq.ParquetFile(path) as file:  # not `read_table`: its dataset layer imports pandas
            table = file.read(columns=feature_names())
    except (OSError, ValueError, KeyError, pa.ArrowException) as error:
        raise _LeftToMlflow(f"reference: {error}") from None
    plain = (
        *(pa.types.is_floating, pa.types.is_integer, pa.types.is_boolean),
        *(pa.types.is_string, pa.types.is_large_string),
    )
    columns = {}
    for name in feature_names():  # in the schema's order, as the export through MLflow writes
        column = table.column(name)
        kind = column.type.value_type if pa.types.is_dictionary(column.type) else column.type
        if not any(check(kind) for check in plain):
            raise _LeftToMlflow(f"reference column {name}: {column.type}")
        columns[name] = [_plain(value) for value in column.to_pylist()]
    return columns


def _plain(value: Any) -> Any:
    """A missing value as None (pandas reads NaN where Parquet holds a null in a float column)."""
    return None if isinstance(value, float) and math.isnan(value) else value
