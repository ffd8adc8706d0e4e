"""The slot picker: a month calendar of the days with openings beside the chosen day's times,
in the viewer's zone or another they choose (shared by booking and rescheduling)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from flask import abort, request

from teletherapy.domain.slots import Slot
from teletherapy.services import bookings as booking_service
from teletherapy.web.formatting import CLOCK, local_time, utc_iso
from teletherapy.web.forms import COMMON_ZONES


class Viewer(Protocol):
    """Who looks at the picker (web code names no model classes)."""

    @property
    def time_zone(self) -> str: ...


@dataclass(frozen=True)
class SlotChoice:
    slot: Slot
    iso: str
    label: str  # in the zone shown
    therapist_label: str | None  # in the therapist's zone, when it differs


@dataclass(frozen=True)
class CalendarDay:
    """One cell of the month calendar: a date, its openings, whether it is chosen."""

    on: date
    in_month: bool
    openings: int
    is_selected: bool


def parse_date(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        abort(400)


def month_after(first: date) -> date:
    return date(first.year + first.month // 12, first.month % 12 + 1, 1)


def month_before(first: date) -> date:
    return date(first.year - (first.month == 1), (first.month - 2) % 12 + 1, 1)


def month_weeks(
    first: date, openings: dict[date, int], selected: date | None
) -> list[list[CalendarDay]]:
    """The month as Monday-first weeks, padded with the neighbouring months' days."""
    start = first - timedelta(days=first.weekday())
    last = month_after(first) - timedelta(days=1)
    end = last + timedelta(days=6 - last.weekday())
    days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    cells = [
        CalendarDay(
            on=day,
            in_month=day.month == first.month,
            openings=openings.get(day, 0),
            is_selected=selected == day,
        )
        for day in days
    ]
    return [cells[i : i + 7] for i in range(0, len(cells), 7)]


def display_zone(actor: Viewer) -> str:
    """The zone times are shown in: the viewer's, or another they chose (?zone=)."""
    wanted = request.args.get("zone") or ""
    if wanted and wanted != actor.time_zone:
        try:
            ZoneInfo(wanted)
        except (ValueError, KeyError):  # an unknown or malformed zone name
            abort(400)
        return wanted
    return actor.time_zone


def slot_picker_context(
    *,
    actor: Viewer,
    now: datetime,
    therapist_id: int,
    setting: str | None,
    on: date | None,
    exclude_booking_ids: Sequence[int] = (),
    hide_starts: Sequence[datetime] = (),
    is_new_client: bool = False,
) -> dict[str, Any]:
    """A month calendar of the days with openings beside the chosen day's times.

    `on` picks the day (and so the month); without it ?month=YYYY-MM, else the first day
    with an opening in this month or the next. `hide_starts` are never offered (a
    session's own time when it is being moved).
    """
    zone_name = display_zone(actor)
    zone = ZoneInfo(zone_name)
    today = now.astimezone(zone).date()
    calendar = booking_service.get_therapist_calendar(therapist_id=therapist_id, now=now)
    month_arg = request.args.get("month")
    first = (on or today).replace(day=1)
    if on is None and month_arg:
        first = (parse_date(month_arg + "-01") or today).replace(day=1)
    if first < today.replace(day=1):
        first, on = today.replace(day=1), None
    hidden = {h.astimezone(UTC) for h in hide_starts}

    def load(month_first: date) -> list[Slot]:
        # A day either side: the therapist's local dates and the viewer's may differ by one.
        slots = booking_service.list_slots(
            therapist_id=therapist_id,
            from_date=max(month_first, today) - timedelta(days=1),
            to_date=month_after(month_first),
            setting=setting,
            now=now,
            is_new_client=is_new_client,
            exclude_booking_ids=exclude_booking_ids,
        )
        return [
            slot
            for slot in slots
            if slot.start not in hidden
            and slot.start.astimezone(zone).date().month == month_first.month
        ]

    slots = load(first)
    if not slots and on is None and month_arg is None:
        # Nothing left this month: open on the next one rather than an empty calendar.
        first = month_after(first)
        slots = load(first)
    by_day: dict[date, list[Slot]] = {}
    for slot in slots:
        by_day.setdefault(slot.start.astimezone(zone).date(), []).append(slot)
    selected = on if on is not None and on.month == first.month and on in by_day else None
    if selected is None and by_day:
        selected = min(by_day)
    times = [
        SlotChoice(
            slot=slot,
            iso=utc_iso(slot.start),
            label=local_time(slot.start, zone_name, CLOCK),
            therapist_label=(
                local_time(slot.start, calendar.time_zone, CLOCK)
                if zone_name != calendar.time_zone
                else None
            ),
        )
        for slot in (by_day.get(selected, []) if selected is not None else [])
    ]
    zones = [zone_name, actor.time_zone, calendar.time_zone, *COMMON_ZONES]
    return {
        "calendar": calendar,
        "weeks": month_weeks(first, {d: len(v) for d, v in by_day.items()}, selected),
        "month_first": first,
        "prev_month": month_before(first),
        "next_month": month_after(first),
        "show_prev": first > today.replace(day=1),
        "selected": selected,
        "times": times,
        "setting": setting or "",
        "viewer_zone": zone_name,
        "own_zone": actor.time_zone,
        "zone_choices": list(dict.fromkeys(zones)),
        "zones_differ": zone_name != calendar.time_zone,
    }
