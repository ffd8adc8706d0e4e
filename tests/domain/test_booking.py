"""Tables for booking policy: blocked time, late cancellation, weekly series across DST."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from teletherapy.domain.booking import (
    ACTIVE_STATUSES,
    BookingStatus,
    blocked_interval,
    blocks_time,
    can_transition,
    is_late_cancellation,
    join_window_open,
    weekly_series_starts,
)
from teletherapy.domain.intervals import Interval


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


START = utc(2026, 5, 5, 14, 0)
END = utc(2026, 5, 5, 14, 50)


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ("online", Interval(utc(2026, 5, 5, 14, 0), utc(2026, 5, 5, 15, 0))),
        ("in_office", Interval(utc(2026, 5, 5, 14, 0), utc(2026, 5, 5, 15, 0))),
        ("home", Interval(utc(2026, 5, 5, 13, 30), utc(2026, 5, 5, 15, 30))),
    ],
)
def test_blocked_interval_adds_buffer_after_and_travel_around_home_visits(
    setting: str, expected: Interval
) -> None:
    assert blocked_interval(START, END, setting, 10, 30) == expected


@pytest.mark.parametrize(
    ("now", "by", "expected"),
    [
        (START - timedelta(hours=24), "client", False),  # exactly on the boundary
        (START - timedelta(hours=24, seconds=1), "client", False),
        (START - timedelta(hours=23, minutes=59), "client", True),
        (START - timedelta(minutes=5), "client", True),
        (START + timedelta(minutes=5), "client", True),  # after the start
        (START - timedelta(minutes=5), "therapist", False),  # therapist never late
    ],
)
def test_late_cancellation_table(now: datetime, by: str, expected: bool) -> None:
    assert is_late_cancellation(START, now, 24, by=by) is expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("zone", "first", "expected"),
    [
        pytest.param(
            "America/New_York",
            utc(2026, 2, 24, 23, 0),  # Tue 18:00 EST
            [utc(2026, 2, 24, 23), utc(2026, 3, 3, 23), utc(2026, 3, 10, 22), utc(2026, 3, 17, 22)],
            id="new-york-spring-forward",
        ),
        pytest.param(
            "America/New_York",
            utc(2026, 10, 20, 22, 0),  # Tue 18:00 EDT
            [utc(2026, 10, 20, 22), utc(2026, 10, 27, 22), utc(2026, 11, 3, 23)],
            id="new-york-fall-back",
        ),
        pytest.param(
            "Europe/London",
            utc(2026, 3, 24, 18, 0),  # Tue 18:00 GMT
            [utc(2026, 3, 24, 18), utc(2026, 3, 31, 17)],
            id="london-spring-forward",
        ),
        pytest.param(
            "Europe/London",
            utc(2026, 10, 20, 17, 0),  # Tue 18:00 BST
            [utc(2026, 10, 20, 17), utc(2026, 10, 27, 18)],
            id="london-fall-back",
        ),
        pytest.param(
            "Asia/Kolkata",
            utc(2026, 3, 3, 12, 30),  # Tue 18:00 IST, no DST
            [utc(2026, 3, 3, 12, 30), utc(2026, 3, 10, 12, 30), utc(2026, 3, 17, 12, 30)],
            id="kolkata-half-hour-offset",
        ),
        pytest.param(
            "America/New_York",
            utc(2026, 3, 1, 7, 30),  # Sun 02:30 EST; 02:30 does not exist on 2026-03-08
            [utc(2026, 3, 1, 7, 30), utc(2026, 3, 8, 7, 0), utc(2026, 3, 15, 6, 30)],
            id="new-york-gap-moves-to-three-am",
        ),
        pytest.param(
            "America/New_York",
            utc(2026, 10, 25, 5, 30),  # Sun 01:30 EDT; 01:30 happens twice on 2026-11-01
            [utc(2026, 10, 25, 5, 30), utc(2026, 11, 1, 5, 30), utc(2026, 11, 8, 6, 30)],
            id="new-york-overlap-takes-first-occurrence",
        ),
    ],
)
def test_weekly_series_keeps_the_local_wall_clock_time(
    zone: str, first: datetime, expected: list[datetime]
) -> None:
    assert weekly_series_starts(first, zone, len(expected)) == expected


def test_weekly_series_accepts_a_zoneinfo_and_an_empty_count() -> None:
    new_york = ZoneInfo("America/New_York")
    assert weekly_series_starts(utc(2026, 3, 3, 23), new_york, 0) == []
    starts = weekly_series_starts(utc(2026, 3, 3, 23), new_york, 2)
    assert [start.astimezone(new_york).hour for start in starts] == [18, 18]


@pytest.mark.parametrize(
    ("from_status", "to_status", "allowed"),
    [
        ("held", "confirmed", True),
        ("held", "cancelled", True),
        ("held", "completed", False),
        ("confirmed", "completed", True),
        ("confirmed", "no_show", True),
        ("confirmed", "cancelled", True),
        ("confirmed", "held", False),
        ("confirmed", "confirmed", False),
        ("cancelled", "confirmed", False),
        ("completed", "cancelled", False),
        ("no_show", "completed", False),
    ],
)
def test_transition_table(from_status: str, to_status: str, allowed: bool) -> None:
    assert can_transition(from_status, to_status) is allowed
    assert can_transition(BookingStatus(from_status), BookingStatus(to_status)) is allowed


def test_only_held_and_confirmed_are_active() -> None:
    assert {BookingStatus.HELD, BookingStatus.CONFIRMED} == ACTIVE_STATUSES
    assert str(BookingStatus.CONFIRMED) == "confirmed"


NOW = utc(2026, 5, 1, 12)


@pytest.mark.parametrize(
    ("status", "hold_expires_at", "expected"),
    [
        ("held", NOW + timedelta(minutes=1), True),
        ("held", NOW, False),  # expired exactly now
        ("held", NOW - timedelta(minutes=1), False),
        ("held", None, True),
        ("confirmed", None, True),
        ("completed", None, False),
        ("no_show", None, False),
        ("cancelled", None, False),
    ],
)
def test_an_expired_hold_stops_blocking_time(
    status: str, hold_expires_at: datetime | None, expected: bool
) -> None:
    assert blocks_time(status, NOW, hold_expires_at) is expected


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (START - timedelta(minutes=16), False),
        (START - timedelta(minutes=15), True),
        (START, True),
        (END - timedelta(seconds=1), True),
        (END, False),
    ],
)
def test_join_window_opens_fifteen_minutes_before_and_closes_at_the_end(
    now: datetime, expected: bool
) -> None:
    assert join_window_open(START, END, now) is expected
