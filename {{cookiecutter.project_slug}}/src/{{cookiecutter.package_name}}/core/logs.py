"""Application logging, configured once per process.

Log records go to stderr: plain text (`time level logger: message`) by default, one JSON object
per line with LOG_FORMAT=json (for log collectors), at the level LOG_LEVEL names (default INFO).
MLflow's loggers go through the same handler, and so do uvicorn's (`serve` passes
`dict_config()` as uvicorn's log config, which its workers apply too): its start-up, error and
access lines. What a command reports to its user (tables, verdicts, the version it registered)
stays on stdout and is not logging.
"""

import json
import logging
import logging.config
import os
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

from .errors import UserError

LEVEL_ENV, FORMAT_ENV = "LOG_LEVEL", "LOG_FORMAT"
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
FORMATS = ("text", "json")
# The variables read here: default and meaning (the docs' reference table lists them).
VARIABLES = {
    LEVEL_ENV: ("INFO", f"the least severe log records shown: {', '.join(LEVELS)}"),
    FORMAT_ENV: (
        "text",
        "`text` (one readable line per record) or `json` (one JSON object per line)",
    ),
}
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# The loggers of the libraries the project runs, sent through the project's handler.
LIBRARY_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "mlflow")
progress_logger = logging.getLogger("progress")
# Shown at LOG_LEVEL: the project's own loggers, its progress lines and the libraries above. Any
# other library's records (e.g. the registry's database migrations) from WARNING up only.
LEVELLED = (__name__.split(".")[0], progress_logger.name, *LIBRARY_LOGGERS)


class JsonLines(logging.Formatter):
    """A record as one JSON object: time (UTC, ISO 8601), level, logger, message, exception."""

    def format(self, record: logging.LogRecord) -> str:
        """The record's JSON line."""
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class Stderr(logging.StreamHandler[TextIO]):
    """A handler writing to whatever `sys.stderr` is when a record comes.

    A live progress display (`core.progress`) stands in for it meanwhile and keeps the lines
    above itself.
    """

    def emit(self, record: logging.LogRecord) -> None:
        """Write the record to the current stderr."""
        self.stream = sys.stderr
        super().emit(record)


def _setting(name: str, default: str, allowed: tuple[str, ...]) -> str:
    value = (os.environ.get(name) or default).strip()
    value = value.upper() if name == LEVEL_ENV else value.lower()
    if value not in allowed:
        raise UserError(f"{name}={value[:30]!r}: use one of {', '.join(allowed)}")
    return value


def formatter() -> logging.Formatter:
    """The formatter LOG_FORMAT names (also built in uvicorn's worker processes)."""
    if _setting(FORMAT_ENV, "text", FORMATS) == "json":
        return JsonLines()
    return logging.Formatter(TEXT_FORMAT)


def dict_config() -> dict[str, Any]:
    """The logging configuration, for `logging.config.dictConfig` and uvicorn's `log_config`."""
    level = _setting(LEVEL_ENV, "INFO", LEVELS)
    _setting(FORMAT_ENV, "text", FORMATS)  # a bad value fails here, in the parent process
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"app": {"()": f"{__name__}.formatter"}},
        "handlers": {"stderr": {"class": f"{__name__}.Stderr", "formatter": "app"}},
        "root": {"level": max(level, "WARNING", key=LEVELS.index), "handlers": ["stderr"]},
        "loggers": {name: {"handlers": [], "propagate": True, "level": level} for name in LEVELLED},
    }


def configure() -> None:
    """Configure logging for this process from LOG_LEVEL and LOG_FORMAT; UserError if bad."""
    os.environ.setdefault("MLFLOW_CONFIGURE_LOGGING", "false")  # MLflow: no handler of its own
    logging.config.dictConfig(dict_config())
