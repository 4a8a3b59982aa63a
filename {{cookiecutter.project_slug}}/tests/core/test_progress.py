"""Progress of long steps: nothing drawn off a terminal or in CI, one log line per step."""

import logging
import sys
from collections.abc import Iterator

import pytest

from {{ cookiecutter.package_name }}.core import logs, progress


@pytest.fixture(autouse=True)
def plain_logging(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The project's logging in text at INFO; the loggers put back as they were afterwards."""
    loggers = [logging.getLogger(), *map(logging.getLogger, logs.LEVELLED)]
    saved = [(lg, lg.handlers[:], lg.level, lg.propagate) for lg in loggers]
    monkeypatch.delenv("LOG_FORMAT", raising=False)
    monkeypatch.delenv("LOG_LEVEL", raising=False)
    logs.configure()
    yield
    for logger, handlers, level, propagate in saved:
        logger.handlers[:] = handlers
        logger.setLevel(level)
        logger.propagate = propagate


def test_off_a_terminal_each_step_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert not progress.live()  # pytest captures stderr: not a terminal
    with progress.step("train: fit"):
        pass
    with progress.step("predict") as advance:
        advance(500, None)
        advance(1200, 1200)
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 2, lines
    assert " INFO progress: train: fit: " in lines[0] and lines[0].endswith(" s")
    assert " INFO progress: predict: " in lines[1] and lines[1].endswith(" s, 1,200 rows")


def test_a_failed_step_still_reports_its_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ValueError), progress.step("features"):
        raise ValueError("bad row")
    [line] = capsys.readouterr().err.strip().splitlines()
    assert " INFO progress: features: " in line


def test_ci_draws_nothing_even_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    monkeypatch.delenv("CI", raising=False)
    assert progress.live()
    monkeypatch.setenv("CI", "true")
    assert not progress.live()
