"""What identifies an exported model version: `model-info.json`, readable without any ML library.

`registry.export_model` writes it next to MLflow's model files; `serve` reads it to check what a
folder holds before loading anything, and every response and prediction-log record carries it.
"""

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .errors import UserError

INFO_FILE = "model-info.json"


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
        return f"models:/{self.name}/{self.version}"

    @property
    def training_fingerprint(self) -> str:
        """One hash of the training config and data: equal for equal training runs."""
        pair = f"{self.config_fingerprint}:{self.data_fingerprint}"
        return hashlib.sha256(pair.encode()).hexdigest()


def write_info(folder: Path, info: ModelInfo) -> None:
    """Write `model-info.json` into an exported model folder."""
    (folder / INFO_FILE).write_text(json.dumps(asdict(info), indent=2, sort_keys=True) + "\n")


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
