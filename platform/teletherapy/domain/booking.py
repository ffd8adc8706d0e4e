"""Booking policy: statuses and transitions, blocked time, late cancellation, weekly series."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Literal
from zoneinfo import ZoneInfo

from teletherapy.domain.availability import local_to_utc
from teletherapy.domain.intervals import Interval

__all__ = [
    "ACTIVE_STATUSES",
    "BookingActions",
    "BookingStatus",
    "blocked_interval",
    "blocks_time",
    "booking_actions",
    "can_transition",
    "is_late_cancellation",
    "join_window_open",
    "weekly_series_starts",
]


class BookingStatus(StrEnum):
    HELD = "held"
    CONFIRMED = "confirmed"
    COMPLETED = "completed"
    NO_SHOW = "no_show"
    CANCELLED = "cancelled"
    EXPIRED = "expired"  # a hold that lapsed before payment; it never held a session


# Only these hold the therapist's time. Completed and no-show sessions are in the
# past, so they can never clash with a new booking (which needs minimum notice).
ACTIVE_STATUSES: frozenset[BookingStatus] = frozenset({BookingStatus.HELD, BookingStatus.CONFIRMED})

_TRANSITIONS: dict[BookingStatus, frozenset[BookingStatus]] = {
    # A lapsed hold is marked expired (under the therapist's lock, or by the sweep);
    # confirming needs an unexpired hold.
    BookingStatus.HELD: frozenset(
        {BookingStatus.CONFIRMED, BookingStatus.CANCELLED, BookingStatus.EXPIRED}
    ),
    BookingStatus.CONFIRMED: frozenset(
        {BookingStatus.COMPLETED, BookingStatus.NO_SHOW, BookingStatus.CANCELLED}
    ),
    BookingStatus.COMPLETED: frozenset(),
    BookingStatus.NO_SHOW: frozenset(),
    BookingStatus.CANCELLED: frozenset(),
    BookingStatus.EXPIRED: frozenset(),
}


def can_transition(from_status: BookingStatus | str, to_status: BookingStatus | str) -> bool:
    """True when a booking may move from `from_status` to `to_status` (never to itself)."""
    return BookingStatus(to_status) in _TRANSITIONS[BookingStatus(from_status)]


def blocks_time(
    status: BookingStatus | str, now: datetime, hold_expires_at: datetime | None = None
) -> bool:
    """True when a booking in `status` keeps its time from others at `now`.

    A held booking stops blocking once its hold has expired (`now >= hold_expires_at`),
    even before the sweep marks it cancelled.
    """
    status = BookingStatus(status)
    if status is BookingStatus.HELD:
        return hold_expires_at is None or now < hold_expires_at
    return status in ACTIVE_STATUSES


def blocked_interval(
    start: datetime,
    end: datetime,
    setting: str,
    buffer_minutes: int,
    travel_buffer_minutes: int,
) -> Interval:
    """The time a session takes from the therapist's calendar, buffers included.

    [start, end + buffer) for online and in-office sessions;
    [start - travel, end + buffer + travel) for home visits.
    Two sessions clash exactly when their blocked intervals overlap.
    """
    travel = timedelta(minutes=travel_buffer_minutes if setting == "home" else 0)
    return Interval(start - travel, end + timedelta(minutes=buffer_minutes) + travel)


def is_late_cancellation(
    start: datetime,
    now: datetime,
    window_hours: int,
    by: Literal["client", "therapist"] = "client",
) -> bool:
    """True when a client cancels less than `window_hours` before `start` (exactly on the
    boundary is not late). A therapist's cancellation is never late for the client."""
    if by == "therapist":
        return False
    return start - now < timedelta(hours=window_hours)


def weekly_series_starts(first_start: datetime, zone: ZoneInfo | str, count: int) -> list[datetime]:
    """UTC starts of `count` weekly sessions keeping `first_start`'s local wall-clock time.

    Tue 18:00 America/New_York stays 18:00 local: 23:00Z in winter, 22:00Z in summer.
    A week whose wall-clock time does not exist (spring-forward gap) moves to the
    first instant after the gap, as slots do; a repeated hour means its first
    occurrence (see availability.local_to_utc). The first start is kept as given.
    """
    if count <= 0:
        return []
    tz = zone if isinstance(zone, ZoneInfo) else ZoneInfo(zone)
    local = first_start.astimezone(tz)
    wall = local.time().replace(tzinfo=None, fold=0)
    starts = [first_start.astimezone(UTC)]
    for week in range(1, count):
        starts.append(local_to_utc(local.date() + timedelta(weeks=week), wall, tz))
    return starts


def join_window_open(
    start: datetime, end: datetime, now: datetime, minutes_before: int = 15
) -> bool:
    """True from `minutes_before` the start until the end (exclusive) of a session."""
    return start - timedelta(minutes=minutes_before) <= now < end


@dataclass(frozen=True, slots=True)
class BookingActions:
    """What a booking's state allows right now; pages, the API and templates ask this."""

    can_cancel: bool
    can_reschedule: bool
    can_pay: bool
    can_join: bool
    can_record_attendance: bool


def is_live(status: BookingStatus | str, hold_expires_at: datetime | None, now: datetime) -> bool:
    """Active and, for a hold, not lapsed: the session still takes place."""
    return blocks_time(status, now, hold_expires_at)


def booking_actions(
    *,
    status: BookingStatus | str,
    start_at: datetime,
    end_at: datetime,
    hold_expires_at: datetime | None,
    now: datetime,
    is_group: bool = False,
    is_online: bool = False,
) -> BookingActions:
    """Cancel or move: live and not started (a group meeting is never moved on its own).
    Pay: a hold not lapsed. Join: confirmed, online, inside the join window. Attendance:
    confirmed and started."""
    live = is_live(status, hold_expires_at, now)
    changeable = live and now < start_at
    status = BookingStatus(status)
    return BookingActions(
        can_cancel=changeable,
        can_reschedule=changeable and not is_group,
        can_pay=status is BookingStatus.HELD and live,
        can_join=status is BookingStatus.CONFIRMED
        and is_online
        and join_window_open(start_at, end_at, now),
        can_record_attendance=status is BookingStatus.CONFIRMED and start_at <= now,
    )
