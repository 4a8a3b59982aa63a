"""A model version exported from the registry into a folder, loadable without MLflow.

`registry.export_model` writes the folder: MLflow's model files plus `model-info.json` (see
`model_info`). The serving workers (and a container image with the model baked in) load it back
with `read_bundle`.
"""

from pathlib import Path

import skops.io
from sklearn.pipeline import Pipeline

from .errors import UserError
from .estimators import SKOPS_TRUSTED_TYPES
from .model_info import ModelInfo, read_info

# An exported model as loaded: its metadata and the pipeline.
Bundle = tuple[ModelInfo, Pipeline]


def read_bundle(folder: Path) -> Bundle:
    """Read an exported model: its metadata and the scikit-learn pipeline (skops, trusted types)."""
    info = read_info(folder)
    try:
        model = skops.io.load(folder / info.model_file, trusted=SKOPS_TRUSTED_TYPES)
    except Exception as error:  # skops raises many types for a damaged or untrusted file
        raise UserError(f"cannot load model {info.uri} from {folder}: {error}") from None
    if not isinstance(model, Pipeline):
        raise UserError(f"cannot load model {info.uri}: expected a scikit-learn Pipeline")
    return info, model
