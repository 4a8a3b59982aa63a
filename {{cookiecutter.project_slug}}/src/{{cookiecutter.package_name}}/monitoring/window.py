"""The time window a monitoring run judges, from `--since 24h` or `--from ... --to ...` (UTC)."""

import re
import reprlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ..core.errors import UserError

_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_SHORT = reprlib.Repr()
_SHORT.maxstring = 40


@dataclass(frozen=True)
class Window:
    """A half-open interval [start, end) of prediction times, both in UTC."""

    start: datetime
    end: datetime


def whole_second_after(moment: datetime) -> datetime:
    """`moment` rounded up to a whole second: the default end of a window that starts the job.

    A window is half-open, so ending it at the current second rounded down would leave out the
    rows logged in the fraction of that second that had passed (all of them, for a `monitor`
    started within a second of the last request).
    """
    whole = moment.replace(microsecond=0)
    return whole if whole == moment else whole + timedelta(seconds=1)


def parse_duration(text: str) -> timedelta:
    """`30m`, `24h`, `7d` or `2w` as a timedelta; anything else is a UserError."""
    match = re.fullmatch(r"([0-9]+)([mhdw])", text.strip())
    if match is None or not match.group(1).strip("0"):
        raise UserError(
            f"--since {_SHORT.repr(text)} is not a duration; use a positive number and a unit "
            "m, h, d or w (e.g. 24h, 7d)"
        )
    try:  # int() refuses over 4300 digits (ValueError); timedelta overflows past 999999999 days
        return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    except (OverflowError, ValueError):
        raise UserError(f"--since {_SHORT.repr(text)} is too long; use --from TIME") from None


def parse_moment(text: str, option: str) -> datetime:
    """An ISO-8601 date or time in UTC; a time without an offset is taken as UTC."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UserError(
            f"{option} {_SHORT.repr(text)} is not an ISO-8601 time; use e.g. 2026-01-31 or "
            "2026-01-31T12:00:00Z"
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def window(since: str | None, start: str | None, end: str | None, now: datetime) -> Window:
    """Build the window from `--since` back from `--to` (default now), or `--from` to `--to`."""
    if since is not None and start is not None:
        raise UserError("give either --since or --from, not both")
    if since is None and start is None:
        raise UserError("give the window: --since 24h, or --from TIME [--to TIME]")
    until = now.astimezone(UTC) if end is None else parse_moment(end, "--to")
    if since is None:
        begin = parse_moment(start or "", "--from")
    else:
        length = parse_duration(since)
        if length > until - datetime.min.replace(tzinfo=UTC):
            raise UserError(
                f"--since {_SHORT.repr(since)} reaches back before the year 1; use --from TIME"
            )
        begin = until - length
    if begin >= until:
        raise UserError(
            f"the window is empty: --from {begin.isoformat()} is not before --to "
            f"{until.isoformat()}"
        )
    return Window(start=begin, end=until)
