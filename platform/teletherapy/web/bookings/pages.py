"""Session pages: slot picker, confirm, my sessions, cancel, reschedule, join, day/week view."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from teletherapy.clock import utcnow
from teletherapy.domain.booking import BookingStatus
from teletherapy.domain.errors import ConflictError, ValidationError
from teletherapy.domain.vocabularies import Role
from teletherapy.services import bookings as booking_service
from teletherapy.services import groups as group_service
from teletherapy.services import payments as payment_service
from teletherapy.services.calendars import invites
from teletherapy.services.payments import terms as money_terms
from teletherapy.web.access import require_actor, roles
from teletherapy.web.bookings.forms import REPEAT_CHOICES, BookForm, CancelForm
from teletherapy.web.bookings.picker import parse_date, slot_picker_context
from teletherapy.web.errors import translate
from teletherapy.web.formatting import utc_iso
from teletherapy.web.forms import ActionForm, attach_errors

bp = Blueprint("sessions", __name__)


@bp.app_context_processor
def _booking_vocabulary() -> dict[str, Any]:
    """Templates ask the domain what a booking allows, and name statuses by the enum."""
    return {"BookingStatus": BookingStatus, "booking_actions": booking_service.actions_for}


# --- helpers (pure) -----------------------------------------------------------------


@dataclass(frozen=True)
class Day:
    on: date
    items: list[Any]


# Why one week of a series cannot be booked (domain.slots refusal codes), in few words.
CONFLICT_LABELS = {
    "taken": _l("taken"),
    "not_accepting": _l("not accepting new clients"),
    "too_soon": _l("too soon"),
    "beyond_horizon": _l("too far ahead"),
    "outside_availability": _l("outside the therapist's hours"),
    "day_cap": _l("that day is full"),
    "week_cap": _l("that week is full"),
}


def _conflict_label(code: str) -> str:
    return str(CONFLICT_LABELS[code]) if code in CONFLICT_LABELS else code.replace("_", " ")


def _parse_instant(value: str | None) -> datetime:
    try:
        parsed = datetime.fromisoformat(value or "")
    except ValueError:
        raise ValidationError(
            "Choose a time from the list.", errors={"start": ["Invalid time."]}
        ) from None
    if parsed.tzinfo is None:
        raise ValidationError("Choose a time from the list.", errors={"start": ["Invalid time."]})
    return parsed.astimezone(UTC)


def _day_arg() -> date | None:
    """?day=YYYY-MM-DD (or the older ?week=, the first day of a week)."""
    return parse_date(request.args.get("day") or request.args.get("week"))


def _setting_arg() -> str | None:
    setting = request.args.get("setting") or None
    if setting is not None and setting not in ("online", "in_office", "home"):
        abort(400)
    return setting


# --- client: choose and confirm -------------------------------------------------------


@bp.get("/sessions/book/<int:therapist_id>")
@roles(Role.CLIENT)
def book(therapist_id: int) -> Any:
    actor = require_actor()
    context = slot_picker_context(
        actor=actor,
        now=utcnow(),
        therapist_id=therapist_id,
        setting=_setting_arg(),
        on=_day_arg(),
        is_new_client=booking_service.is_new_client(client_id=actor.id, therapist_id=therapist_id),
    )
    return render_template("sessions/book.html", picker=context, **context)


@bp.route("/sessions/book/<int:therapist_id>/confirm", methods=["GET", "POST"])
@roles(Role.CLIENT)
def confirm(therapist_id: int) -> Any:
    actor = require_actor()
    form = BookForm()
    if request.method == "GET":
        form.start.data = request.args.get("start", "")
        form.setting.data = request.args.get("setting", "")
        form.request_key.data = secrets.token_urlsafe(16)
        if request.args.get("repeat") in {value for value, _label in REPEAT_CHOICES}:
            form.repeat.data = request.args["repeat"]
    start = _parse_instant(form.start.data)
    setting = form.setting.data or ""
    now = utcnow()
    calendar = booking_service.get_therapist_calendar(therapist_id=therapist_id, now=now)
    conflict: ConflictError | None = None
    if form.validate_on_submit():
        repeat = int(form.repeat.data or "1")
        try:
            result = booking_service.book_session(
                client_id=actor.id,
                therapist_id=therapist_id,
                start=start,
                setting=setting,
                now=now,
                repeat_weekly=repeat if repeat > 1 else None,
                idempotency_key=form.request_key.data or None,
            )
        except ConflictError as exc:
            conflict = exc
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            first, count = result.first, len(result.bookings)
            if result.is_held:
                flash(_("We are holding this time for you while you pay."), "success")
                return redirect(url_for("payments.pay", booking_id=first.id))
            flash(
                ngettext("Your session is booked.", "Your %(num)d sessions are booked.", count),
                "success",
            )
            return redirect(url_for("sessions.detail", booking_id=first.id))
    status = 409 if conflict else (422 if form.errors else 200)
    conflicts = [
        (_parse_instant(item["start"]), _conflict_label(str(item["reason"])))
        for item in (conflict.extra.get("conflicts", []) if conflict else [])
    ]
    repeat_count = int(form.repeat.data or "1") if (form.repeat.data or "1").isdigit() else 1
    terms: money_terms.BookingTerms | None
    try:
        terms = money_terms.booking_terms(
            client_id=actor.id,
            therapist_id=therapist_id,
            start=start,
            now=now,
            repeat_weekly=repeat_count,
            stripe_enabled=payment_service.current_gateway() is not None,
        )
    except ConflictError as exc:
        # No price for this client (their band is not accepted): booking says why.
        terms = None
        conflict = conflict or exc
        status = 409
    clashing = {when for when, _reason in conflicts}
    # A series that clashes: the weeks that are free, each bookable on its own.
    free_weeks = (
        [(utc_iso(when), when) for when in terms.series_starts if when not in clashing]
        if conflicts and terms is not None
        else []
    )
    return render_template(
        "sessions/confirm.html",
        conflicts=conflicts,
        free_weeks=free_weeks,
        terms=terms,
        form=form,
        calendar=calendar,
        start=start,
        end=start + timedelta(minutes=calendar.session_minutes),
        setting=setting,
        conflict=conflict,
        zones_differ=actor.time_zone != calendar.time_zone,
    ), status


# --- both parties: list, detail, cancel, reschedule, join ----------------------------------


@bp.get("/sessions")
@roles(Role.CLIENT, Role.THERAPIST)
def my_sessions() -> Any:
    actor = require_actor()
    now = utcnow()
    upcoming = booking_service.list_bookings_for(user_id=actor.id, now=now, when="upcoming")
    past = booking_service.list_bookings_for(user_id=actor.id, now=now, when="past")
    return render_template(
        "sessions/list.html",
        upcoming=upcoming,
        past=past,
        names=booking_service.names_for([*upcoming, *past]),
        is_therapist=actor.role == Role.THERAPIST.value,
    )


@bp.get("/sessions/<int:booking_id>")
@roles(Role.CLIENT, Role.THERAPIST)
def detail(booking_id: int) -> Any:
    actor = require_actor()
    booking = booking_service.get_booking_for(booking_id=booking_id, user_id=actor.id)
    now = utcnow()
    is_therapist = actor.role == Role.THERAPIST.value
    # A group member's own row is on the member's calendar only (the therapist has
    # the meeting row), so only the member gets calendar links for it.
    is_member_row = booking.group_id is not None and booking.client_id is not None
    return render_template(
        "sessions/detail.html",
        booking=booking,
        group=group_service.get_group(booking.group_id) if booking.group_id is not None else None,
        names=booking_service.names_for([booking]),
        is_therapist=is_therapist,
        outcome=(
            money_terms.money_outcome(booking_id=booking.id, user_id=actor.id)
            if booking.status in (BookingStatus.CANCELLED, BookingStatus.NO_SHOW)
            else None
        ),
        changeable=booking_service.is_changeable(booking, now),
        actions=booking_service.actions_for(booking, now),
        join_open=booking_service.join_link(booking=booking, now=now) is not None,
        join_opens_at=booking.start_at - timedelta(minutes=15),
        attendance_form=ActionForm(),
        can_mark=booking_service.actions_for(booking, now).can_record_attendance,
        calendar_links=(
            invites.calendar_links(booking_id=booking.id, user_id=actor.id, now=now)
            if booking.status == BookingStatus.CONFIRMED
            and booking.client_id is not None
            and not (is_therapist and is_member_row)
            else None
        ),
    )


@bp.route("/sessions/<int:booking_id>/cancel", methods=["GET", "POST"])
@roles(Role.CLIENT, Role.THERAPIST)
def cancel(booking_id: int) -> Any:
    actor = require_actor()
    now = utcnow()  # one clock reading: the preview, the check and the action agree
    booking = booking_service.get_booking_for(booking_id=booking_id, user_id=actor.id)
    cost = money_terms.cancellation_cost(booking_id=booking_id, user_id=actor.id, now=now)
    if not booking_service.is_changeable(booking, now):
        flash(_("This session can no longer be cancelled."), "error")
        return redirect(url_for("sessions.detail", booking_id=booking_id))
    form = CancelForm()
    if form.validate_on_submit():
        try:
            booking_service.cancel_booking(
                booking_id=booking_id,
                actor_id=actor.id,
                now=now,
                reason=form.reason.data,
                scope="future" if form.scope.data == "future" else "one",
            )
        except ValidationError as exc:
            attach_errors(form, exc)
        except ConflictError as exc:
            flash(translate(exc.detail), "error")
            return redirect(url_for("sessions.detail", booking_id=booking_id))
        else:
            flash(_("The session is cancelled. We have told the other person."), "success")
            return redirect(url_for("sessions.detail", booking_id=booking_id))
    return render_template(
        "sessions/cancel.html", booking=booking, cost=cost, form=form
    ), 422 if form.errors else 200


@bp.route("/sessions/<int:booking_id>/reschedule", methods=["GET", "POST"])
@roles(Role.CLIENT, Role.THERAPIST)
def reschedule(booking_id: int) -> Any:
    actor = require_actor()
    now = utcnow()
    booking = booking_service.get_booking_for(booking_id=booking_id, user_id=actor.id)
    if not booking_service.is_changeable(booking, now):
        flash(_("This session can no longer be moved."), "error")
        return redirect(url_for("sessions.detail", booking_id=booking_id))
    form = ActionForm()
    status = 200
    if form.validate_on_submit():
        try:
            new = booking_service.reschedule_booking(
                booking_id=booking_id,
                actor_id=actor.id,
                new_start=_parse_instant(request.form.get("start")),
                now=now,
            )
        except (ConflictError, ValidationError) as exc:
            flash(translate(exc.detail), "error")
            status = exc.status
        else:
            flash(_("The session has moved. We have told the other person."), "success")
            return redirect(url_for("sessions.detail", booking_id=new.id))
    current_day = booking.start_at.astimezone(ZoneInfo(actor.time_zone)).date()
    context = slot_picker_context(
        actor=actor,
        now=now,
        therapist_id=booking.therapist_id,
        setting=booking.setting,
        on=_day_arg() or (None if request.args.get("month") else current_day),
        exclude_booking_ids=[booking.id],
        hide_starts=[booking.start_at],  # never offer the session's own time
    )
    return render_template(
        "sessions/reschedule.html", booking=booking, form=form, picker=context, **context
    ), status


@bp.get("/sessions/<int:booking_id>/join")
@roles(Role.CLIENT, Role.THERAPIST)
def join(booking_id: int) -> Any:
    actor = require_actor()
    booking = booking_service.get_booking_for(booking_id=booking_id, user_id=actor.id)
    now = utcnow()
    link = booking_service.join_link(booking=booking, now=now)
    if link is not None:
        return redirect(link)
    return render_template(
        "sessions/join.html",
        booking=booking,
        opens_at=booking.start_at - timedelta(minutes=15),
        is_over=now >= booking.end_at,
    )
