"""Request and response bodies. The request record is built from the schema's features."""

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    create_model,
    model_validator,
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


def _value(column: FeatureColumn, explained: bool = True) -> tuple[Any, str]:
    """The type of one value of a feature (null allowed: the pipeline imputes it), and its meaning.

    A number is finite and, where schema.yaml gives the raw column a `min`/`max`, within them (the
    rule training's validation applies; `minimum`/`maximum` in the JSON schema); derived features
    and columns without bounds take any finite number. A category is a string of at most
    MAX_CATEGORY_LENGTH characters; categories the model never saw are accepted (it ignores them,
    drift monitoring sees them). `explained=False` leaves out the function that turns an
    out-of-range error into one line naming the range: the same values pass, without Python code
    per value.
    """
    if column.kind == "categorical":
        meaning = f"category, at most {MAX_CATEGORY_LENGTH} characters"
        return Annotated[str | None, Field(max_length=MAX_CATEGORY_LENGTH)], meaning
    raw = next((c for c in schema().raw_columns if c.name == column.name), None)
    if raw is None or (raw.minimum is None and raw.maximum is None):
        return float | None, "number"
    bounds = Field(ge=raw.minimum, le=raw.maximum)
    if not explained:
        return Annotated[float | None, bounds], f"number, {_range_text(raw)}"
    return Annotated[float | None, bounds, _within_range(raw)], f"number, {_range_text(raw)}"


def _field(column: FeatureColumn) -> tuple[Any, Any]:
    """A feature as a required field of a record, its JSON key the column's name.

    The key is the name, whatever it holds (spaces, dots, any letter); the Python attribute is not
    used (read records with `model_dump(by_alias=True)`).
    """
    kind, meaning = _value(column)
    description = f"{column.name} ({meaning}); null when unknown: the model imputes it"
    return kind, Field(alias=column.name, description=description)


def record_model() -> type[BaseModel]:
    """One row of model features, a field per schema feature; every field must be present."""
    return create_model(  # type: ignore[call-overload,no-any-return]
        "Record",
        __config__=STRICT,
        __doc__="One row of model features (schema.yaml); every field must be present.",
        **{f"feature_{i}": _field(column) for i, column in enumerate(schema().features)},
    )


def _equal_lengths(columns: BaseModel) -> BaseModel:
    """Every column holds as many values as the first."""
    lengths = {
        str(field.alias): len(getattr(columns, attribute))
        for attribute, field in type(columns).model_fields.items()
    }
    first, rows = next(iter(lengths.items()))
    for name, length in lengths.items():
        if length != rows:
            raise PydanticCustomError(
                "columns_length",
                "{name} holds {length} values, {first} {rows}; send one value per row in every "
                "column",
                {"name": name[:30], "length": length, "first": first[:30], "rows": rows},
            )
    return columns


def columns_model(max_rows: int, explained: bool = True) -> type[BaseModel]:
    """Rows by column: a list of 1..max_rows values per schema feature, all of one length.

    `explained=False`: the same rules with pydantic's own error messages (see `_value`).
    """
    fields: dict[str, Any] = {}
    for i, column in enumerate(schema().features):
        kind, meaning = _value(column, explained)
        fields[f"feature_{i}"] = (
            list[kind],  # type: ignore[valid-type]
            Field(
                alias=column.name,
                min_length=1,
                max_length=max_rows,
                description=f"{column.name}: one value per row ({meaning}; null when unknown)",
            ),
        )
    return create_model(
        "Columns",
        __config__=STRICT,
        __doc__="Rows by column: every feature (schema.yaml), one value per row, equal lengths.",
        __validators__={"equal_lengths": model_validator(mode="after")(_equal_lengths)},  # type: ignore[dict-item]
        **fields,
    )


def records_request_model(max_rows: int) -> type[BaseModel]:
    """The /predict body's records shape alone: `{"records": [...]}` with 1..max_rows rows."""
    record = record_model()
    return create_model(
        "PredictRequest",
        __config__=STRICT,
        __doc__="A batch of records to score.",
        records=(list[record], Field(min_length=1, max_length=max_rows)),  # type: ignore[valid-type]
    )


def request_model(max_rows: int) -> Any:
    """The /predict body: `{"records": [...]}` (1..max_rows rows) or `{"columns": {...}}`.

    An object with a `columns` key is read as columns, anything else as records, so that errors
    name the body's own fields. Each error's location starts with the shape's tag
    (`BODY_SHAPES`): the app drops it.
    """
    records = records_request_model(max_rows)
    columns = create_model(
        "PredictColumnsRequest",
        __config__=STRICT,
        __doc__="A batch of rows to score, by column.",
        columns=(columns_model(max_rows), ...),
    )
    return Annotated[
        Annotated[records, Tag("records")] | Annotated[columns, Tag("columns")],
        Discriminator(_shape),
    ]


BODY_SHAPES = ("records", "columns")


def _shape(body: Any) -> str:
    """`columns` for an object holding that key, else `records`."""
    return "columns" if isinstance(body, dict) and "columns" in body else "records"


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


class Inference(BaseModel):
    """Which path scores requests, and why.

    `fast`: built from the fitted pipeline at start-up and found equal to it on the version's
    reference sample; `pipeline`: the fitted pipeline itself.
    """

    path: Literal["fast", "pipeline"]
    reason: str = Field(description="Why this path serves.")


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
    inference: Inference


class Problem(BaseModel):
    """An error: one line naming the field and the fix, and the details when there are several."""

    detail: str
    errors: list[dict[str, Any]] | None = None


class Health(BaseModel):
    """A health check's answer."""

    status: str
