"""Traffic for a running service: an example request, and rows of a table replayed through it.

A /predict record holds the schema's features, derived ones included; a raw table holds raw
columns. Both commands turn raw rows into records with the feature pipeline's own validation and
derivation (`features.py`), so what they send is what training saw, and they work on any table
that follows schema.yaml (the sample, or your own data after `schema infer`).
"""

import json
import math
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import urllib3

from .core.config import DataConfig, shown
from .core.errors import UserError
from .core.schema import feature_names, schema
from .features import derive_features, validate_raw
from .io import data

Record = dict[str, Any]
# Posts one batch of records; answers the decoded /predict response.
Post = Callable[[list[Record]], dict[str, Any]]
EXAMPLE_FILE = Path("examples/request.json")


def parse_shifts(items: list[str]) -> dict[str, float]:
    """`COLUMN=FACTOR` items -> {column: factor}; each column a numeric feature of the schema."""
    numeric = feature_names("numeric")
    shifts: dict[str, float] = {}
    for item in items:
        column, _, factor = item.partition("=")
        if column not in numeric:
            raise UserError(
                f"--shift {shown(item)}: {shown(column)} is not a numeric feature; "
                f"use COLUMN=FACTOR with one of {', '.join(numeric[:8])}"
            )
        try:
            shifts[column] = float(factor)
        except ValueError:
            raise UserError(
                f"--shift {shown(item)}: the factor is not a number; e.g. {column}=1.5"
            ) from None
        if not math.isfinite(shifts[column]):
            raise UserError(f"--shift {shown(item)}: the factor must be a finite number")
    return shifts


def feature_rows(
    table: data.Location,
    config: DataConfig,
    rows: int | None = None,
    shifts: dict[str, float] | None = None,
) -> pd.DataFrame:
    """The table's rows as model features (validated, derived), the first `rows`, shifted.

    A shifted column is multiplied by its factor and clipped into the range schema.yaml gives the
    raw column, so every shifted record is still one the service accepts.
    """
    with data.local_file(table) as path:
        raw = data.read_raw(data.connect(), path)
        validate_raw(raw, str(table))
        features = derive_features(raw, config.as_of)
        if rows is not None:
            features = features.limit(rows)
        frame: pd.DataFrame = features.to_pandas()[feature_names()]
    contract = schema()
    raw_names = {c.name for c in contract.raw_columns}
    for column, factor in (shifts or {}).items():
        shifted = frame[column] * factor
        if column in raw_names:
            rule = contract.column(column)
            shifted = shifted.clip(
                lower=None if rule.minimum is None else float(rule.minimum),  # type: ignore[arg-type]
                upper=None if rule.maximum is None else float(rule.maximum),  # type: ignore[arg-type]
            )
        frame[column] = shifted
    return frame


def records(frame: pd.DataFrame) -> list[Record]:
    """Rows as JSON records: missing values as null, numbers as plain Python numbers."""
    return [
        {str(k): None if isinstance(v, float) and math.isnan(v) else v for k, v in row.items()}
        for row in frame.astype(object).where(frame.notna(), None).to_dict("records")
    ]


def example_request(table: data.Location, config: DataConfig, rows: int = 2) -> str:
    """A /predict body of the table's first `rows` rows, as indented JSON text."""
    body = {"records": records(feature_rows(table, config, rows))}
    return json.dumps(body, indent=2, ensure_ascii=False) + "\n"


@dataclass(frozen=True)
class Replayed:
    """What a replay sent and which model version answered."""

    rows: int
    requests: int
    model_name: str
    model_version: str


def _batches(items: list[Record], size: int) -> Iterator[list[Record]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def replay(frame: pd.DataFrame, post: Post, batch_rows: int = 200) -> Replayed:
    """Send every row of `frame` in batches of `batch_rows`; answer what the service said."""
    if batch_rows < 1:
        raise UserError(f"--batch {batch_rows}: send at least 1 row per request")
    sent = requests = 0
    answer: dict[str, Any] = {}
    for batch in _batches(records(frame), batch_rows):
        answer = post(batch)
        sent += len(batch)
        requests += 1
    return Replayed(
        sent, requests, str(answer.get("model_name", "-")), str(answer.get("model_version", "-"))
    )


def http_post(url: str, timeout: float = 30.0) -> Post:
    """A Post to `<url>/predict`, with `X-API-Key` from the API_KEY variable when it is set."""
    pool = urllib3.PoolManager(retries=False, timeout=timeout)
    headers = {"content-type": "application/json"}
    if key := os.environ.get("API_KEY"):
        headers["x-api-key"] = key
    target = f"{url.rstrip('/')}/predict"

    def post(batch: list[Record]) -> dict[str, Any]:
        try:
            response = pool.request(
                "POST", target, body=json.dumps({"records": batch}), headers=headers
            )
        except urllib3.exceptions.HTTPError as error:
            raise UserError(
                f"cannot reach {shown(target)} ({type(error).__name__}); start the service first "
                "(`make serve MODEL=models:/<name>/<version>`) or pass --url"
            ) from None
        if response.status != 200:
            detail = response.data.decode("utf-8", "replace")
            raise UserError(f"{target} answered {response.status}: {shown(detail)}")
        answer: dict[str, Any] = json.loads(response.data)
        return answer

    return post
