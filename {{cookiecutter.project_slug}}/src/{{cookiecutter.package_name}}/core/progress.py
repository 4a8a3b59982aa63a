"""Progress of long steps: drawn live on a terminal, one line per step everywhere else.

`step(what)` wraps one long step (features, fit, logging a run, an export, a drift report, batch
scoring). Where stderr is a terminal and `CI` is unset (and rich is installed: it is in the
training and monitoring groups, not in what `serve` needs), rich draws a spinner, the elapsed
time and, once the step reports its size, a bar; the display goes away when the step ends.
Elsewhere (CI, a pipe, a log file) nothing is drawn. Either way the step ends with one log line,
`<what>: <seconds> s`, on the `progress` logger (so LOG_LEVEL and LOG_FORMAT apply).
"""

import importlib.util
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from .logs import progress_logger

# What a step may call to report its size: rows done so far, and the total if known.
Advance = Callable[[int, int | None], None]


def live() -> bool:
    """Whether steps are drawn: stderr is a terminal, `CI` is unset and rich is installed."""
    return (
        sys.stderr.isatty()
        and not os.environ.get("CI")
        and importlib.util.find_spec("rich") is not None
    )


@contextmanager
def step(what: str) -> Iterator[Advance]:
    """Report the step run in the block; the block may call the `Advance` it gets with its size."""
    started = time.perf_counter()
    done: list[int] = []

    def count(rows: int, total: int | None) -> None:
        done[:] = [rows]

    try:
        if not live():
            yield count
            return
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        with Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=True,
        ) as display:
            task = display.add_task(what, total=None)

            def advance(rows: int, total: int | None) -> None:
                count(rows, total)
                display.update(task, completed=rows, total=total)

            yield advance
    finally:
        rows = f", {done[0]:,} rows" if done else ""
        progress_logger.info("%s: %.1f s%s", what, time.perf_counter() - started, rows)
