"""Logging configured once: level and format from the environment, uvicorn's loggers included."""

import json
import logging
from collections.abc import Iterator

import pytest

from {{ cookiecutter.package_name }}.core import logs
from {{ cookiecutter.package_name }}.core.errors import UserError


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """Put the root logger and the library loggers back as they were."""
    loggers = [logging.getLogger(), *map(logging.getLogger, logs.LEVELLED)]
    saved = [(lg, lg.handlers[:], lg.level, lg.propagate) for lg in loggers]
    yield
    for logger, handlers, level, propagate in saved:
        logger.handlers[:] = handlers
        logger.setLevel(level)
        logger.propagate = propagate


def test_json_lines_include_uvicorns_loggers(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LOG_FORMAT", "json")
    monkeypatch.setenv("LOG_LEVEL", "warning")
    logs.configure()
    logging.getLogger("uvicorn.error").warning("port %d busy", 8000)
    logging.getLogger("uvicorn.error").info("not shown below the level")
    [line] = capsys.readouterr().err.strip().splitlines()
    record = json.loads(line)
    assert (record["level"], record["logger"], record["message"]) == (
        "WARNING",
        "uvicorn.error",
        "port 8000 busy",
    )


def test_plain_text_by_default_and_other_libraries_from_warning(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("LOG_FORMAT", raising=False)
    monkeypatch.delenv("LOG_LEVEL", raising=False)
    logs.configure()
    logging.getLogger("alembic.runtime.migration").info("a library's detail: not shown")
    logging.getLogger("uvicorn.access").info('%s - "%s %s" %d', "127.0.0.1:1", "GET", "/", 200)
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.endswith(' INFO uvicorn.access: 127.0.0.1:1 - "GET /" 200')


@pytest.mark.parametrize(("name", "value"), [("LOG_LEVEL", "loud"), ("LOG_FORMAT", "xml")])
def test_a_bad_setting_is_one_line_naming_the_choices(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(UserError, match=f"{name}=.*use one of"):
        logs.configure()
