"""Request and response bodies. The request record is built from the schema's features."""

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, create_model

from ..core.schema import FeatureColumn, schema

STRICT = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


def _field(column: FeatureColumn) -> tuple[Any, Any]:
    """A feature as a required field whose value may be null (the pipeline imputes it).

    The JSON key is the column's name, whatever it holds (spaces, dots, any letter); the Python
    attribute is not used (read records with `model_dump(by_alias=True)`).
    """
    kind = float if column.kind == "numeric" else str
    meaning = "number" if column.kind == "numeric" else "category"
    return (
        kind | None,
        Field(
            alias=column.name,
            description=f"{column.name} ({meaning}); null when unknown: the model imputes it",
        ),
    )


def record_model() -> type[BaseModel]:
    """One row of model features, a field per schema feature; every field must be present."""
    return create_model(  # type: ignore[call-overload,no-any-return]
        "Record",
        __config__=STRICT,
        __doc__="One row of model features (schema.yaml); every field must be present.",
        **{f"feature_{i}": _field(column) for i, column in enumerate(schema().features)},
    )


def request_model(max_rows: int) -> type[BaseModel]:
    """The /predict body: a batch of 1..max_rows records, nothing else."""
    record = record_model()
    return create_model(
        "PredictRequest",
        __config__=STRICT,
        __doc__="A batch of records to score.",
        records=(list[record], Field(min_length=1, max_length=max_rows)),  # type: ignore[valid-type]
    )


class Prediction(BaseModel):
    """The model's answer for one record; both keys are always present."""

    prediction: float | int = Field(description="Predicted label (classifier) or value.")
    probabilities: dict[str, float] | None = Field(
        description="Probability of each class by class label (classifier); null (regressor)."
    )


class PredictResponse(BaseModel):
    """Predictions in the order of the records, and which model made them."""

    request_id: str = Field(
        description="Unique per request; keys its rows in the prediction log (label files join "
        "on it and `row`): your X-Request-ID, '.', a server uuid; or a server uuid."
    )
    model_name: str
    model_version: str
    predictions: list[Prediction]


class ModelDescription(BaseModel):
    """The served model version and what it was trained on."""

    name: str
    version: str
    run_id: str
    source_uri: str
    problem_type: str
    training_fingerprint: str
    data_fingerprint: str
    config_fingerprint: str
    metrics: dict[str, float]
    signature: dict[str, Any]


class Problem(BaseModel):
    """An error: one line naming the field and the fix, and the details when there are several."""

    detail: str
    errors: list[dict[str, Any]] | None = None


class Health(BaseModel):
    """A health check's answer."""

    status: str
