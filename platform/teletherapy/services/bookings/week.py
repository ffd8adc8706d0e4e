"""A therapist's week as a time grid: sessions as blocks, their working hours shaded.

The grid counts in quarter hours from the first shown hour; a block's row and
length are whole quarters (a 50-minute session covers 4 rows, rounded up), so
the page can place it with classes rather than inline styles.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from teletherapy.domain.booking import BookingStatus
from teletherapy.models import Booking
from teletherapy.services.availability.rules import get_availability
from teletherapy.services.bookings.queries import list_bookings_for

QUARTER = 15
DEFAULT_FIRST_HOUR, DEFAULT_LAST_HOUR = 8, 20


@dataclass(frozen=True)
class Block:
    """Something placed on the grid: a session, or a stretch of working hours."""

    column: int  # 1..7, Monday first
    row: int  # 1-based quarter-hour row from `first_hour`
    span: int  # quarter hours
    setting: str
    booking: Booking | None = None  # None: working hours


@dataclass(frozen=True)
class WeekGrid:
    first: date  # the Monday
    days: tuple[date, ...]
    first_hour: int
    last_hour: int  # exclusive
    hours: tuple[Block, ...]
    sessions: tuple[Block, ...]

    @property
    def rows(self) -> int:
        return (self.last_hour - self.first_hour) * 60 // QUARTER

    @property
    def hour_labels(self) -> list[tuple[int, time]]:
        """(row, hour) for each full hour shown."""
        return [
            (1 + (h - self.first_hour) * 60 // QUARTER, time(h))
            for h in range(self.first_hour, self.last_hour)
        ]


def _minutes(value: time) -> int:
    return value.hour * 60 + value.minute


def _hours_on(payload: Mapping[str, Any], on: date) -> list[tuple[int, int, str]]:
    """Working hours on one date, (start minute, end minute, setting): an override wins."""
    overrides = [o for o in payload["overrides"] if o["date"] == on.isoformat()]
    if overrides:
        return [
            (
                _minutes(time.fromisoformat(o["start"])),
                _minutes(time.fromisoformat(o["end"])) or 24 * 60,
                str(o.get("setting") or "online"),
            )
            for o in overrides
            if o.get("available", True) and o.get("start") and o.get("end")
        ]
    return [
        (
            _minutes(time.fromisoformat(r["start"])),
            _minutes(time.fromisoformat(r["end"])) or 24 * 60,
            str(r["setting"]),
        )
        for r in payload["weekly"]
        if r["weekday"] == on.weekday()
    ]


def week_grid(
    *, user_id: int, therapist_id: int, on: date, now: datetime
) -> tuple[WeekGrid, list[Booking]]:
    """The week containing `on` in the therapist's zone, and its bookings (for the list)."""
    payload = get_availability(therapist_id=therapist_id)
    zone = ZoneInfo(str(payload["time_zone"]))
    first = on - timedelta(days=on.weekday())
    days = tuple(first + timedelta(days=i) for i in range(7))
    start_from = datetime.combine(first, time(0), tzinfo=zone).astimezone(UTC)
    start_before = datetime.combine(first + timedelta(days=7), time(0), tzinfo=zone).astimezone(UTC)
    bookings = list_bookings_for(
        user_id=user_id, now=now, start_from=start_from, start_before=start_before
    )
    hours = {day: _hours_on(payload, day) for day in days}
    spans: list[tuple[int, int]] = [(s, e) for day in days for s, e, _ in hours[day]]
    for b in bookings:
        local_start = b.start_at.astimezone(zone)
        local_end = b.end_at.astimezone(zone)
        end_minute = _minutes(local_end.time()) if local_end.date() == local_start.date() else 1440
        spans.append((_minutes(local_start.time()), end_minute))
    first_hour = min([DEFAULT_FIRST_HOUR, *(s // 60 for s, _ in spans)])
    last_hour = max([DEFAULT_LAST_HOUR, *(-(-e // 60) for _, e in spans)])
    last_hour = min(last_hour, 24)

    def place(column: int, start: int, end: int, setting: str, booking: Booking | None) -> Block:
        row = 1 + (start - first_hour * 60) // QUARTER
        span = max(1, -(-(end - start) // QUARTER))
        return Block(column=column, row=row, span=span, setting=setting, booking=booking)

    hour_blocks = tuple(
        place(i + 1, s, e, setting, None)
        for i, day in enumerate(days)
        for s, e, setting in hours[day]
    )
    session_blocks = []
    for b in bookings:
        local_start = b.start_at.astimezone(zone)
        local_end = b.end_at.astimezone(zone)
        end_minute = _minutes(local_end.time()) if local_end.date() == local_start.date() else 1440
        column = (local_start.date() - first).days + 1
        session_blocks.append(place(column, _minutes(local_start.time()), end_minute, b.setting, b))
    grid = WeekGrid(
        first=first,
        days=days,
        first_hour=first_hour,
        last_hour=last_hour,
        hours=hour_blocks,
        sessions=tuple(session_blocks),
    )
    return grid, bookings


def weekly_hours_grid(*, therapist_id: int) -> WeekGrid:
    """The saved weekly hours as a picture of one week (no dates: weekdays only)."""
    payload = get_availability(therapist_id=therapist_id)
    monday = date(2024, 1, 1)  # any Monday: only the weekdays are shown
    days = tuple(monday + timedelta(days=i) for i in range(7))
    spans = [
        (i + 1, s, e, setting)
        for i, day in enumerate(days)
        for s, e, setting in _hours_on({"weekly": payload["weekly"], "overrides": []}, day)
    ]
    first_hour = min([DEFAULT_FIRST_HOUR, *(s // 60 for _, s, _, _ in spans)])
    last_hour = min(24, max([DEFAULT_LAST_HOUR, *(-(-e // 60) for _, _, e, _ in spans)]))
    hours = tuple(
        Block(
            column=column,
            row=1 + (s - first_hour * 60) // QUARTER,
            span=max(1, -(-(e - s) // QUARTER)),
            setting=setting,
        )
        for column, s, e, setting in spans
    )
    return WeekGrid(
        first=monday,
        days=days,
        first_hour=first_hour,
        last_hour=last_hour,
        hours=hours,
        sessions=(),
    )


def session_status_class(booking: Booking, now: datetime) -> str:
    """held / cancelled / past / upcoming: how a block is drawn."""
    if booking.status == BookingStatus.HELD:
        return "held"
    if booking.status == BookingStatus.CANCELLED:
        return "cancelled"
    if booking.status == BookingStatus.NO_SHOW:
        return "no-show"
    return "past" if booking.end_at <= now else "upcoming"


__all__: Sequence[str] = (
    "Block",
    "WeekGrid",
    "session_status_class",
    "week_grid",
    "weekly_hours_grid",
)
