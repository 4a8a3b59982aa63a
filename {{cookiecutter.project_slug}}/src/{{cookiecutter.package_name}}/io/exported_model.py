"""A model version exported from the registry into a folder, loadable without MLflow.

`registry.export_model` writes the folder: MLflow's model files plus `model-info.json`, which says
what the folder holds (readable without any ML library: `serve` checks it before loading
anything, and every response and prediction-log record carries it). The serving workers, and a
container image with the model baked in, load the pipeline back with `read_bundle`; skops and
scikit-learn are imported only there.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core.errors import UserError
from ..core.model_uri import version_uri

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

INFO_FILE = "model-info.json"
# The version's model card (Markdown), stored with its run at training time; copied when present.
CARD_FILE = "model_card.md"
# The version's reference sample's features, by column (null where missing): serving checks its
# fast path against the pipeline on these rows. Absent from folders exported before it existed.
REFERENCE_FILE = "reference-features.json"
# The ModelInfo fields training writes as model version tags (read back by `tagged_fields`).
VERSION_TAGS = ("problem_type", "data_fingerprint", "config_fingerprint")
# An exported model as loaded: its metadata and the pipeline.
Bundle = tuple["ModelInfo", "Pipeline"]


@dataclass(frozen=True)
class ModelInfo:
    """What identifies a served model version and what it was trained on."""

    name: str
    version: str
    run_id: str
    source_uri: str
    problem_type: str
    data_fingerprint: str
    config_fingerprint: str
    metrics: dict[str, float]
    signature: dict[str, Any]
    model_file: str

    @property
    def uri(self) -> str:
        """The concrete version's URI, `models:/<name>/<version>`."""
        return version_uri(self.name, self.version)

    @property
    def training_fingerprint(self) -> str:
        """One hash of the training config and data: equal for equal training runs."""
        pair = f"{self.config_fingerprint}:{self.data_fingerprint}"
        return hashlib.sha256(pair.encode()).hexdigest()


def tagged_fields(tags: dict[str, str]) -> dict[str, str]:
    """The ModelInfo fields training stores as version tags ("unknown" where a tag is absent)."""
    return {key: tags.get(key, "unknown") for key in VERSION_TAGS}


def write_info(folder: Path, info: ModelInfo) -> None:
    """Write `model-info.json` into an exported model folder."""
    (folder / INFO_FILE).write_text(json.dumps(asdict(info), indent=2, sort_keys=True) + "\n")


def write_reference(folder: Path, columns: dict[str, list[Any]]) -> None:
    """Write the reference sample's feature columns into an exported model folder."""
    (folder / REFERENCE_FILE).write_text(json.dumps(columns, allow_nan=False) + "\n")


def read_reference(folder: Path) -> dict[str, list[Any]] | None:
    """The reference sample's feature columns, or None for a folder exported without them."""
    path = folder / REFERENCE_FILE
    if not path.is_file():
        return None
    try:
        columns = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise UserError(f"{path}: not readable ({error}); export the model again") from None
    if not isinstance(columns, dict) or not all(isinstance(v, list) for v in columns.values()):
        raise UserError(f"{path}: not a table of columns; export the model again")
    return columns


def has_bundle(folder: Path) -> bool:
    """Whether the folder holds an exported model."""
    return (folder / INFO_FILE).is_file()


def read_info(folder: Path) -> ModelInfo:
    """Read the metadata of an exported model."""
    path = folder / INFO_FILE
    try:
        return ModelInfo(**json.loads(path.read_text()))
    except (OSError, ValueError, TypeError) as error:
        raise UserError(f"{path}: not a readable model export ({error}); export it again") from None


def import_model_reader() -> None:
    """Import the libraries `read_bundle` uses (skops, which imports most of scikit-learn).

    Reads nothing: `serve` calls it while the export runs, so that loading the exported model
    afterwards imports nothing.
    """
    import skops.io  # noqa: F401


def read_bundle(folder: Path) -> Bundle:
    """Read an exported model: its metadata and the scikit-learn pipeline (skops, trusted types)."""
    import skops.io
    from sklearn.pipeline import Pipeline

    from ..core.estimators import SKOPS_TRUSTED_TYPES

    info = read_info(folder)
    try:
        model = skops.io.load(folder / info.model_file, trusted=SKOPS_TRUSTED_TYPES)
    except Exception as error:  # skops raises many types for a damaged or untrusted file
        raise UserError(f"cannot load model {info.uri} from {folder}: {error}") from None
    if not isinstance(model, Pipeline):
        raise UserError(f"cannot load model {info.uri}: expected a scikit-learn Pipeline")
    return info, model
