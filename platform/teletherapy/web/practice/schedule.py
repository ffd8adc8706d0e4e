"""The therapist's schedule (/practice/sessions): a day or a week, and attendance."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from teletherapy.clock import utcnow
from teletherapy.domain.errors import ConflictError, ValidationError
from teletherapy.domain.vocabularies import Role
from teletherapy.services import bookings as booking_service
from teletherapy.services.bookings import Booking, week
from teletherapy.web.access import own_therapist_id, require_actor, roles
from teletherapy.web.errors import translate
from teletherapy.web.formatting import local_today
from teletherapy.web.forms import ActionForm, date_arg


@dataclass(frozen=True)
class Day:
    on: date
    items: list[Booking]


def _by_day(bookings: Sequence[Booking], zone: str) -> list[Day]:
    tz = ZoneInfo(zone)
    days: dict[date, Day] = {}
    for item in bookings:
        on = item.start_at.astimezone(tz).date()
        days.setdefault(on, Day(on, [])).items.append(item)
    return list(days.values())


@roles(Role.THERAPIST)
def sessions() -> Any:
    actor = require_actor()
    therapist_id = own_therapist_id()
    view = request.args.get("view", "week")
    if view not in ("day", "week"):
        abort(400)
    now = utcnow()  # one instant for the whole page
    calendar = booking_service.get_therapist_calendar(therapist_id=therapist_id, now=now)
    zone = ZoneInfo(calendar.time_zone)
    on = date_arg(request.args.get("date"), local_today(calendar.time_zone, now))
    first = on if view == "day" else on - timedelta(days=on.weekday())
    span = timedelta(days=1 if view == "day" else 7)
    start_from = datetime.combine(first, datetime.min.time(), tzinfo=zone).astimezone(UTC)
    start_before = datetime.combine(first + span, datetime.min.time(), tzinfo=zone).astimezone(UTC)
    grid = None
    if view == "week":
        # The calendar picture (desktop); the day list below is the phone's layout.
        grid, bookings = week.week_grid(
            user_id=actor.id, therapist_id=therapist_id, on=first, now=now
        )
    else:
        bookings = booking_service.list_bookings_for(
            user_id=actor.id, now=now, start_from=start_from, start_before=start_before
        )
    return render_template(
        "practice/schedule.html",
        grid=grid,
        block_class=week.session_status_class,
        today=local_today(calendar.time_zone, now),
        view=view,
        first=first,
        last=first + span - timedelta(days=1),
        prev_date=first - span,
        next_date=first + span,
        days=_by_day(bookings, calendar.time_zone),
        zone=calendar.time_zone,
        names=booking_service.names_for(bookings),
        now=now,
        form=ActionForm(),
    )


@roles(Role.THERAPIST)
def attendance(booking_id: int) -> Any:
    actor = require_actor()
    form = ActionForm()
    if form.validate_on_submit():
        status = request.form.get("status", "")
        try:
            booking_service.mark_attendance(
                booking_id=booking_id, therapist_user_id=actor.id, status=status, now=utcnow()
            )
        except (ConflictError, ValidationError) as exc:
            flash(translate(exc.detail), "error")
        else:
            flash(_("Attendance recorded."), "success")
    target = request.form.get("next", "")
    if not target.startswith("/") or target.startswith("//"):
        target = url_for("practice.sessions")
    return redirect(target)
