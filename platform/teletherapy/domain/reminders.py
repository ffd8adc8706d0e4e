"""Reminder timing: when reminders fall due, when they stop being useful, and retry backoff."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from teletherapy.domain.errors import ValidationError

DEFAULT_OFFSETS_MINUTES: tuple[int, ...] = (1440, 60)
MIN_OFFSET_MINUTES = 5
MAX_OFFSET_MINUTES = 14 * 24 * 60
MAX_OFFSETS = 4

# A reminder must still arrive with at least 1/12 of its lead time left: the 24 h reminder
# is useful until 2 h before the session, the 1 h reminder until 5 minutes before, the
# 15 minute one until 75 seconds before. Later than that it is expired, never sent late.
USEFUL_LEAD_DIVISOR = 12

BACKOFF_BASE = timedelta(minutes=1)
BACKOFF_CAP = timedelta(minutes=60)
# After this many failed attempts a message is a dead letter (1+2+4+...+60 min: about 2 h).
MAX_ATTEMPTS = 8


def reminder_times(
    start: datetime, offsets_minutes: Iterable[int] = DEFAULT_OFFSETS_MINUTES
) -> list[tuple[int, datetime]]:
    """(offset, due_at in UTC) for each offset, earliest due first.

    Offsets are exact durations before the start instant (24 h before 18:00 on the day
    after a DST change is 17:00 or 19:00 local): a reminder says "in 24 hours".
    """
    start_utc = _utc(start, "start")
    times = [(offset, start_utc - timedelta(minutes=offset)) for offset in set(offsets_minutes)]
    return sorted(times, key=lambda item: item[1])


def usefulness_deadline(start: datetime, offset_minutes: int) -> datetime:
    """The last instant (UTC) at which the reminder of `offset_minutes` is worth sending."""
    if offset_minutes <= 0:
        raise ValueError("offset_minutes must be positive")
    min_lead = timedelta(minutes=offset_minutes) / USEFUL_LEAD_DIVISOR
    return _utc(start, "start") - min_lead


def is_expired(due_at: datetime, offset_minutes: int, start: datetime, now: datetime) -> bool:
    """True when the reminder's moment has passed by more than its usefulness.

    The usefulness window runs from the nominal due time to usefulness_deadline(); a
    reminder whose due_at was set later than nominal gets no extra time.
    """
    deadline = usefulness_deadline(start, offset_minutes)
    nominal = _utc(start, "start") - timedelta(minutes=offset_minutes)
    window = deadline - nominal
    return _utc(now, "now") > min(_utc(due_at, "due_at") + window, deadline)


def backoff(attempt: int) -> timedelta:
    """The wait after failed attempt number `attempt` (1-based): 1, 2, 4 ... 60 minutes."""
    if attempt < 1:
        raise ValueError("attempt counts from 1")
    if attempt > 7:  # 2**6 minutes already exceeds the cap; avoid huge powers
        return BACKOFF_CAP
    wait: timedelta = BACKOFF_BASE * 2 ** (attempt - 1)
    return min(wait, BACKOFF_CAP)


def is_dead_letter(attempts: int) -> bool:
    """True once `attempts` failed deliveries mean: stop retrying, show it to an admin."""
    return attempts >= MAX_ATTEMPTS


def next_attempt_at(failed_at: datetime, attempts: int) -> datetime | None:
    """When to retry after `attempts` failures, or None when the message is a dead letter."""
    if is_dead_letter(attempts):
        return None
    return _utc(failed_at, "failed_at") + backoff(attempts)


def validate_offsets(offsets_minutes: Iterable[int]) -> tuple[int, ...]:
    """A person's reminder offsets, checked and sorted longest first; empty means "off".

    Each offset is whole minutes from 5 minutes to 14 days, with at most 4 distinct offsets.
    """
    offsets = list(offsets_minutes)
    problems: list[str] = []
    for offset in offsets:
        if isinstance(offset, bool) or not isinstance(offset, int):
            problems.append(f"{offset!r} is not a whole number of minutes")
        elif not MIN_OFFSET_MINUTES <= offset <= MAX_OFFSET_MINUTES:
            problems.append(
                f"{offset} is outside {MIN_OFFSET_MINUTES}..{MAX_OFFSET_MINUTES} minutes"
            )
    if len(offsets) > MAX_OFFSETS:
        problems.append(f"at most {MAX_OFFSETS} reminders")
    if not problems and len(set(offsets)) != len(offsets):
        problems.append("each reminder time may appear once")
    if problems:
        raise ValidationError(
            "Invalid reminder times.", errors={"reminder_offsets_minutes": problems}
        )
    return tuple(sorted(offsets, reverse=True))


def _utc(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")
    return value.astimezone(UTC)
