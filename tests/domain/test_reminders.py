"""Reminder timing tables: due times, usefulness deadlines, expiry, backoff and offset checks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from teletherapy.domain.errors import ValidationError
from teletherapy.domain.reminders import (
    MAX_ATTEMPTS,
    backoff,
    is_dead_letter,
    is_expired,
    next_attempt_at,
    reminder_times,
    usefulness_deadline,
    validate_offsets,
)

NY = ZoneInfo("America/New_York")
KOLKATA = ZoneInfo("Asia/Kolkata")


def z(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.mark.parametrize(
    ("start", "offsets", "expected"),
    [
        # Defaults: 24 h and 1 h before, earliest first, in UTC.
        (datetime(2027, 2, 23, 18, tzinfo=NY), (1440, 60),
         [(1440, z("2027-02-22T23:00Z")), (60, z("2027-02-23T22:00Z"))]),
        # The day after spring forward: 24 h before 18:00 EDT is 17:00 EST local.
        (datetime(2027, 3, 15, 18, tzinfo=NY), (1440,), [(1440, z("2027-03-14T22:00Z"))]),
        # Half-hour zone.
        (datetime(2027, 1, 5, 9, 30, tzinfo=KOLKATA), (60, 15),
         [(60, z("2027-01-05T03:00Z")), (15, z("2027-01-05T03:45Z"))]),
        # Order of the offsets given does not matter; duplicates collapse.
        (z("2027-01-05T12:00Z"), (5, 20160, 5),
         [(20160, z("2026-12-22T12:00Z")), (5, z("2027-01-05T11:55Z"))]),
        # Reminders turned off.
        (z("2027-01-05T12:00Z"), (), []),
    ],
)  # fmt: skip
def test_reminder_times(start, offsets, expected):
    assert reminder_times(start, offsets) == expected
    assert all(due.tzinfo is UTC for _, due in reminder_times(start, offsets))


def test_reminder_times_default_to_24h_and_1h():
    start = z("2027-01-05T12:00Z")
    assert [offset for offset, _ in reminder_times(start)] == [1440, 60]


@pytest.mark.parametrize(
    ("offset", "deadline"),
    [
        (1440, "2027-01-05T10:00:00Z"),  # 24 h reminder: useful until 2 h before
        (60, "2027-01-05T11:55:00Z"),  # 1 h reminder: until 5 minutes before
        (15, "2027-01-05T11:58:45Z"),
        (5, "2027-01-05T11:59:35Z"),
        (20160, "2027-01-04T08:00:00Z"),  # 14 days: until 28 h before
    ],
)
def test_usefulness_deadline_leaves_a_twelfth_of_the_lead_time(offset, deadline):
    assert usefulness_deadline(z("2027-01-05T12:00Z"), offset) == z(deadline)


START = z("2027-01-05T12:00Z")


@pytest.mark.parametrize(
    ("offset", "due_at", "now", "expired"),
    [
        (1440, "2027-01-04T12:00Z", "2027-01-04T12:00Z", False),  # on time
        (1440, "2027-01-04T12:00Z", "2027-01-05T09:59Z", False),  # late but useful
        (1440, "2027-01-04T12:00Z", "2027-01-05T10:00Z", False),  # the deadline itself
        (1440, "2027-01-04T12:00Z", "2027-01-05T10:01Z", True),  # too late: expired
        (60, "2027-01-05T11:00Z", "2027-01-05T11:54Z", False),
        (60, "2027-01-05T11:00Z", "2027-01-05T11:56Z", True),
        (60, "2027-01-05T11:00Z", "2027-01-05T12:30Z", True),  # after the start
        # A due_at set later than nominal gets no extra time past the deadline.
        (60, "2027-01-05T11:30Z", "2027-01-05T11:56Z", True),
        # A due_at set earlier than nominal is useful for the same window after it.
        (60, "2027-01-05T10:00Z", "2027-01-05T10:56Z", True),
    ],
)
def test_is_expired(offset, due_at, now, expired):
    assert is_expired(z(due_at), offset, START, z(now)) is expired


def test_is_expired_compares_instants_not_wall_clocks():
    start = datetime(2027, 1, 5, 7, tzinfo=NY)  # 12:00Z
    now = datetime(2027, 1, 5, 15, 26, tzinfo=KOLKATA)  # 09:56Z, before the 10:00Z deadline
    assert not is_expired(z("2027-01-04T12:00Z"), 1440, start, now)


@pytest.mark.parametrize(
    ("attempt", "minutes"),
    [(1, 1), (2, 2), (3, 4), (4, 8), (5, 16), (6, 32), (7, 60), (8, 60), (100, 60)],
)
def test_backoff_doubles_up_to_an_hour(attempt, minutes):
    assert backoff(attempt) == timedelta(minutes=minutes)


def test_dead_letter_after_the_last_attempt():
    assert MAX_ATTEMPTS == 8
    assert [is_dead_letter(n) for n in (0, 7, 8, 9)] == [False, False, True, True]
    failed_at = z("2027-01-05T12:00Z")
    assert next_attempt_at(failed_at, 3) == z("2027-01-05T12:04Z")
    assert next_attempt_at(failed_at, 8) is None


@pytest.mark.parametrize("bad", [0, -1])
def test_backoff_counts_attempts_from_one(bad):
    with pytest.raises(ValueError):
        backoff(bad)


@pytest.mark.parametrize(
    ("offsets", "expected"),
    [
        ([60, 1440], (1440, 60)),
        ([], ()),
        ([5], (5,)),
        ([20160, 5, 60, 1440], (20160, 1440, 60, 5)),
    ],
)
def test_validate_offsets_sorts_longest_first(offsets, expected):
    assert validate_offsets(offsets) == expected


@pytest.mark.parametrize(
    ("offsets", "problem"),
    [
        ([4], "outside"),
        ([20161], "outside"),
        ([0], "outside"),
        ([60, 60], "once"),
        ([5, 10, 15, 20, 25], "at most 4"),
        ([True], "whole number"),
        ([60.5], "whole number"),
        (["60"], "whole number"),
    ],
)
def test_validate_offsets_refuses(offsets, problem):
    with pytest.raises(ValidationError) as refused:
        validate_offsets(offsets)
    assert refused.value.status == 422
    assert any(problem in text for text in refused.value.errors["reminder_offsets_minutes"])


@pytest.mark.parametrize(
    "call",
    [
        lambda: reminder_times(datetime(2027, 1, 5, 12)),
        lambda: usefulness_deadline(datetime(2027, 1, 5, 12), 60),
        lambda: is_expired(START, 60, START, datetime(2027, 1, 5, 12)),
    ],
)
def test_naive_datetimes_are_refused(call):
    with pytest.raises(ValueError, match="timezone-aware"):
        call()
