"""Service settings, read from environment variables into one frozen, validated object."""

import os
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from ..core.errors import UserError

ENVIRONMENT = {
    "model_uri": "MODEL_URI",
    "model_dir": "MODEL_DIR",
    "prediction_log_dir": "PREDICTION_LOG_DIR",
    "prediction_log_max_bytes": "PREDICTION_LOG_MAX_BYTES",
    "max_batch_rows": "MAX_BATCH_ROWS",
    "max_body_bytes": "MAX_BODY_BYTES",
    "api_key": "API_KEY",
}


def _describe(field: str, item: Mapping[str, object]) -> str:
    """One problem: the variable, its value (never the API key's) and the fix."""
    name = ENVIRONMENT[field]
    if field == "api_key":
        return f"{name}: use a key of at least 16 characters"
    if field == "model_uri":
        return f"{name}={item['input']!r}: use models:/<name>/<version> or models:/<name>@<alias>"
    return f"{name}={item['input']!r}: {item['msg']}"


class Settings(BaseModel):
    """What the service serves, where it logs, and its limits."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model_uri: str | None = Field(
        default=None, pattern=r"^models:/[^/@]+(/[0-9]+|@[\w-]+)$", description="Model to serve."
    )
    model_dir: Path | None = Field(
        default=None, description="Folder holding an exported model, or to export it into."
    )
    prediction_log_dir: Path = Path("logs/predictions")
    prediction_log_max_bytes: int = Field(default=64 * 1024 * 1024, ge=1024)
    max_batch_rows: int = Field(default=1000, ge=1, le=100_000)
    max_body_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)
    api_key: SecretStr | None = Field(default=None, min_length=16)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Settings":
        """Read the settings from environment variables; a bad value is one UserError line."""
        environ = os.environ if environ is None else environ
        values = {field: environ[name] for field, name in ENVIRONMENT.items() if environ.get(name)}
        try:
            return cls.model_validate(values)
        except ValidationError as error:
            problems = [_describe(str(item["loc"][0]), item) for item in error.errors()]
            raise UserError(f"bad service setting: {'; '.join(problems)}") from None

    def to_env(self) -> dict[str, str]:
        """The environment variables that reproduce these settings (for worker processes)."""
        values = self.model_dump(exclude_none=True)
        if self.api_key is not None:
            values["api_key"] = self.api_key.get_secret_value()
        return {ENVIRONMENT[field]: str(value) for field, value in values.items()}
