"""Request and response bodies. The request record is built from the schema's features."""

from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    create_model,
)
from pydantic_core import PydanticCustomError

from ..core.schema import FeatureColumn, RawColumn, schema

STRICT = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)
# The longest category a request may hold, in characters. Categories are names (a tier, a country),
# not free text; a bound keeps every logged line small enough for the monitoring job's reader and
# its drift report (an unbounded string once stopped monitoring), with room to spare for real
# names. A longer value is a 422 naming the field and the limit.
MAX_CATEGORY_LENGTH = 200
_OUT_OF_RANGE = ("greater_than_equal", "less_than_equal")


def _range_text(column: RawColumn) -> str:
    """The range schema.yaml gives a numeric column: '18 to 100', 'at least 0.0', 'at most 5'."""
    if column.minimum is not None and column.maximum is not None:
        return f"{column.minimum} to {column.maximum}"
    if column.minimum is not None:
        return f"at least {column.minimum}"
    return f"at most {column.maximum}"


def _within_range(column: RawColumn) -> WrapValidator:
    """Out of the column's range: one error naming the range and the fix, not pydantic's own."""

    def check(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        try:
            return handler(value)
        except ValidationError as error:
            if not any(item["type"] in _OUT_OF_RANGE for item in error.errors()):
                raise
            raise PydanticCustomError(
                "out_of_range",
                "{value} is outside {column}'s range in schema.yaml ({range}); if such values "
                "are real, widen the range there and retrain",
                {"value": str(value)[:30], "column": column.name, "range": _range_text(column)},
            ) from None

    return WrapValidator(check)


def _field(column: FeatureColumn) -> tuple[Any, Any]:
    """A feature as a required field whose value may be null (the pipeline imputes it).

    A number is finite and, where schema.yaml gives the raw column a `min`/`max`, within them (the
    rule training's validation applies; `minimum`/`maximum` in the JSON schema); derived features
    and columns without bounds take any finite number. A category is a string of at most
    MAX_CATEGORY_LENGTH characters; categories the model never saw are accepted (it ignores them,
    drift monitoring sees them). The JSON key is the column's name, whatever it holds (spaces,
    dots, any letter); the Python attribute is not used (read records with
    `model_dump(by_alias=True)`).
    """
    if column.kind == "categorical":
        return (
            str | None,
            Field(
                alias=column.name,
                max_length=MAX_CATEGORY_LENGTH,
                description=f"{column.name} (category, at most {MAX_CATEGORY_LENGTH} characters); "
                "null when unknown: the model imputes it",
            ),
        )
    raw = next((c for c in schema().raw_columns if c.name == column.name), None)
    if raw is None or (raw.minimum is None and raw.maximum is None):
        kind: Any = float | None
        bounds: dict[str, Any] = {}
        meaning = "number"
    else:
        kind = Annotated[float | None, _within_range(raw)]
        bounds = {"ge": raw.minimum, "le": raw.maximum}
        meaning = f"number, {_range_text(raw)}"
    return (
        kind,
        Field(
            alias=column.name,
            description=f"{column.name} ({meaning}); null when unknown: the model imputes it",
            **bounds,
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
