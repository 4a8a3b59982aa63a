"""The service settings: one frozen, validated object read by pydantic-settings.

Each setting is an environment variable named after its field in capitals (MODEL_URI, MODEL_DIR,
PREDICTION_LOG_DIR, PREDICTION_LOG_MAX_BYTES, MAX_BATCH_ROWS, MAX_BODY_BYTES, API_KEY). The first
source that sets it wins:
1. the environment (an empty variable counts as unset);
2. a `.env` file in the working directory (`NAME=value` lines);
3. a file named after the variable in the secrets folder: SECRETS_DIR, default `/run/secrets`
   where Docker and Kubernetes mount secrets, so API_KEY need not be an environment variable.
Other variables and `.env` lines are ignored. A bad value is one UserError line naming the
variable and the fix; the API key's value is never shown.
"""

import os
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, ValidationError
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError

from ..core.errors import UserError
from ..core.model_uri import FORMS, PATTERN

SECRETS_DIR = Path("/run/secrets")
SECRETS_DIR_ENV = "SECRETS_DIR"


def _describe(item: ErrorDetails) -> str:
    """One problem: the variable, its value (never the API key's) and the fix."""
    field = str(item["loc"][0]) if item["loc"] else ""
    name = field.upper()
    if field == "api_key":
        return f"{name}: use a key of at least 16 characters"
    if field == "model_uri":
        return f"{name}={item['input']!r}: use {FORMS}"
    return f"{name}={item['input']!r}: {item['msg']}"


def _secrets_dir() -> Path | None:
    """SECRETS_DIR if set (it must be a folder), else `/run/secrets` when it exists."""
    given = os.environ.get(SECRETS_DIR_ENV)
    if given:
        if not Path(given).is_dir():
            raise UserError(f"{SECRETS_DIR_ENV}={given}: not a folder; unset it or create it")
        return Path(given)
    return SECRETS_DIR if SECRETS_DIR.is_dir() else None


class ServiceSettings(BaseSettings):
    """What the service serves, where it logs, and its limits."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        env_ignore_empty=True,
        extra="ignore",
        frozen=True,
    )

    model_uri: str | None = Field(default=None, pattern=PATTERN, description="Model to serve.")
    model_dir: Path | None = Field(
        default=None, description="Folder holding an exported model, or to export it into."
    )
    prediction_log_dir: Path = Field(
        default=Path("logs/predictions"), description="Folder of the prediction log's files."
    )
    prediction_log_max_bytes: int = Field(
        default=64 * 1024 * 1024, ge=1024, description="A log file's size before the next one."
    )
    max_batch_rows: int = Field(
        default=1000, ge=1, le=100_000, description="Most records in one /predict request."
    )
    max_body_bytes: int = Field(
        default=4 * 1024 * 1024, ge=1024, description="Largest request body; larger ones get 413."
    )
    api_key: SecretStr | None = Field(
        default=None,
        min_length=16,
        description="Set: every endpoint but the health checks and docs needs this key.",
    )

    @classmethod
    def from_env(cls, **overrides: Any) -> "ServiceSettings":
        """Read the settings from their sources, `overrides` first; a bad value is a UserError."""
        values: dict[str, Any] = {**overrides, "_secrets_dir": _secrets_dir()}
        try:
            return cls(**values)
        except ValidationError as error:
            problems = [_describe(item) for item in error.errors()]
            raise UserError(f"bad service setting: {'; '.join(problems)}") from None
        except SettingsError as error:  # e.g. an unreadable `.env` or secret file
            raise UserError(f"bad service setting: {error}") from None

    def to_env(self) -> dict[str, str]:
        """The environment variables that reproduce these settings (for worker processes)."""
        values = self.model_dump(exclude_none=True)
        if self.api_key is not None:
            values["api_key"] = self.api_key.get_secret_value()
        return {field.upper(): str(value) for field, value in values.items()}
