from datetime import UTC, datetime, timedelta

import pytest

from {{ cookiecutter.package_name }}.core.errors import UserError
from {{ cookiecutter.package_name }}.monitoring.window import (
    Window,
    parse_duration,
    whole_second_after,
    window,
)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30m", timedelta(minutes=30)),
        ("24h", timedelta(hours=24)),
        ("7d", timedelta(days=7)),
        ("2w", timedelta(weeks=2)),
    ],
)
def test_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


def test_since_counts_back_from_now_or_to() -> None:
    assert window("24h", None, None, NOW) == Window(NOW - timedelta(hours=24), NOW)
    end = datetime(2026, 2, 1, tzinfo=UTC)
    assert window("1d", None, "2026-02-01", NOW) == Window(end - timedelta(days=1), end)


def test_the_default_end_holds_the_rows_of_the_second_under_way() -> None:
    logged = datetime(2026, 3, 1, 12, 0, 0, 400_000, tzinfo=UTC)
    started = logged + timedelta(milliseconds=300)  # `monitor` right after the last request
    end = whole_second_after(started)
    assert end == datetime(2026, 3, 1, 12, 0, 1, tzinfo=UTC)
    assert logged < window("24h", None, None, end).end
    assert whole_second_after(NOW) == NOW, "a whole second stays as it is"


def test_from_to_in_utc() -> None:
    found = window(None, "2026-02-01T10:00:00+02:00", "2026-02-02", NOW)
    assert found == Window(datetime(2026, 2, 1, 8, tzinfo=UTC), datetime(2026, 2, 2, tzinfo=UTC))
    assert window(None, "2026-02-01", None, NOW).end == NOW


@pytest.mark.parametrize(
    ("since", "start", "end", "expected"),
    [
        ("1y", None, None, "--since '1y' is not a duration"),
        ("0h", None, None, "--since '0h' is not a duration"),
        (None, None, None, "give the window"),
        ("1h", "2026-01-01", None, "either --since or --from"),
        (None, "yesterday", None, "--from 'yesterday' is not an ISO-8601 time"),
        (None, "2026-02-02", "2026-02-01", "the window is empty"),
    ],
)
def test_bad_windows_are_one_line_errors(
    since: str | None, start: str | None, end: str | None, expected: str
) -> None:
    with pytest.raises(UserError, match=expected):
        window(since, start, end, NOW)
