"""Metrics files: a training run's metrics with their provenance, as JSON (the gate's input).

`metrics/candidate.json` is written by every `train --metrics-out`; `metrics/baseline.json` is a
reviewed copy of a known-good candidate, committed to the repository.
"""

import json
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from ..core.errors import UserError


class MetricsRecord(BaseModel):
    """Metrics of one run and where they came from."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    metrics: dict[str, float]
    config: str
    config_fingerprint: str
    data_fingerprint: str
    model_uri: str
    run_id: str
    git_commit: str
    created: str

    def provenance(self) -> dict[str, str]:
        """The fields that say which config and data produced the metrics."""
        return {
            "config_fingerprint": self.config_fingerprint,
            "data_fingerprint": self.data_fingerprint,
        }


def now() -> str:
    """The current UTC time, ISO 8601, to the second."""
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def write(path: Path, record: MetricsRecord) -> None:
    """Write a record as stable, reviewable JSON (sorted metric names, 2-space indent)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = record.model_dump()
    data["metrics"] = {k: data["metrics"][k] for k in sorted(data["metrics"])}
    path.write_text(json.dumps(data, indent=2) + "\n")


def read(path: Path, role: str) -> MetricsRecord:
    """Read a metrics file; `role` (candidate, baseline) names it in errors."""
    if not path.is_file():
        hint = (
            "run `make smoke` first"
            if role == "candidate"
            else "record one: `gate --update-baseline`"
        )
        raise UserError(f"{role} metrics file {path} not found; {hint}")
    try:
        return MetricsRecord.model_validate(json.loads(path.read_text()))
    except (json.JSONDecodeError, ValidationError) as error:
        first = str(error).splitlines()[0]
        raise UserError(
            f"{role} metrics file {path} is not a valid metrics record: {first}"
        ) from None
