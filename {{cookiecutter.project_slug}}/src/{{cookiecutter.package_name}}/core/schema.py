"""The one definition of the raw and feature columns.

Features, training (the model signature), serving (the request model) and monitoring all read
their columns from here. Pure definitions: no I/O.
"""

from dataclasses import dataclass
from datetime import date
from typing import Literal

DType = Literal["string", "int64", "float64", "date"]
Kind = Literal["numeric", "categorical"]
ProblemType = Literal["classification", "regression"]


@dataclass(frozen=True)
class RawColumn:
    """A column of the raw data and the rules every value must follow."""

    name: str
    dtype: DType
    nullable: bool = False
    allowed: tuple[str, ...] | None = None
    minimum: float | date | None = None
    maximum: float | date | None = None
    unique: bool = False


@dataclass(frozen=True)
class FeatureColumn:
    """A column the model sees, and how the model treats it."""

    name: str
    dtype: DType
    kind: Kind


ID_COLUMN = "customer_id"

RAW_COLUMNS: tuple[RawColumn, ...] = (
    RawColumn(ID_COLUMN, "string", unique=True),
    RawColumn("signup_date", "date", minimum=date(2015, 1, 1), maximum=date(2030, 12, 31)),
    RawColumn("plan", "string", allowed=("basic", "standard", "premium")),
    RawColumn("region", "string", nullable=True, allowed=("north", "south", "east", "west")),
    RawColumn("age", "int64", nullable=True, minimum=18, maximum=100),
    RawColumn("monthly_spend", "float64", minimum=0.0),
    RawColumn("support_tickets", "int64", minimum=0),
    RawColumn("last_login_days", "int64", nullable=True, minimum=0),
    RawColumn("churned", "int64", minimum=0, maximum=1),
    RawColumn("spend_next_year", "float64", minimum=0.0),
)

# The label of each problem type; a target is never a feature.
TARGETS: dict[ProblemType, str] = {
    "classification": "churned",
    "regression": "spend_next_year",
}

FEATURE_COLUMNS: tuple[FeatureColumn, ...] = (
    FeatureColumn("plan", "string", "categorical"),
    FeatureColumn("region", "string", "categorical"),
    FeatureColumn("age", "float64", "numeric"),
    FeatureColumn("monthly_spend", "float64", "numeric"),
    FeatureColumn("support_tickets", "float64", "numeric"),
    FeatureColumn("last_login_days", "float64", "numeric"),
    FeatureColumn("tenure_days", "float64", "numeric"),
    FeatureColumn("signup_month", "float64", "numeric"),
    FeatureColumn("tickets_per_year", "float64", "numeric"),
)

MISSING_CATEGORY = "unknown"


def feature_names(kind: Kind | None = None) -> list[str]:
    """Names of the model's input columns, optionally only those of one kind."""
    return [c.name for c in FEATURE_COLUMNS if kind is None or c.kind == kind]
