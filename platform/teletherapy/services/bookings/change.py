"""Changing a booked session: confirm a hold, reschedule, cancel (one or all future)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Literal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from teletherapy.domain.booking import BookingStatus
from teletherapy.domain.errors import ConflictError, NotFoundError, ValidationError
from teletherapy.domain.slots import check_bookable
from teletherapy.extensions import db
from teletherapy.models import ACTIVE_STATUSES, Booking
from teletherapy.services.availability.schedules import lock_therapist_calendar
from teletherapy.services.bookings import lifecycle
from teletherapy.services.bookings.queries import (
    cancellation_window,
    get_booking_for,
    party_of,
    reload_booking,
    require_changeable,
    schedule_for,
    taken_error,
)

logger = logging.getLogger(__name__)

CancelScope = Literal["one", "future"]


def confirm_hold(*, booking_id: int, now: datetime) -> Booking:
    """Confirm a held booking whose hold has not lapsed (called once payment succeeds)."""
    booking = db.session.get(Booking, booking_id)
    if booking is None:
        raise NotFoundError("No such session.")
    try:
        lock_therapist_calendar(booking.therapist_id)
        booking = reload_booking(booking_id)
        if booking.status != BookingStatus.HELD or (
            booking.hold_expires_at is not None and booking.hold_expires_at <= now
        ):
            raise ConflictError(
                "This hold has lapsed; please choose a time again.", extra={"reason": "expired"}
            )
        lifecycle.confirm(booking, now=now)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return booking


def reschedule_booking(
    *, booking_id: int, actor_id: int, new_start: datetime, now: datetime
) -> Booking:
    """Move a session to a free slot in one transaction; returns the new booking.

    Both changes are one transaction under the therapist's lock, so no other
    transaction sees the old time released without the new time claimed; a failed
    move rolls back and leaves the original untouched.
    """
    if new_start.tzinfo is None or new_start.utcoffset() is None:
        raise ValidationError(
            "Give the new start with its time zone.", errors={"start": ["Include an offset."]}
        )
    new_start = new_start.astimezone(UTC)
    booking = get_booking_for(booking_id=booking_id, user_id=actor_id)
    therapist_id = booking.therapist_id
    try:
        lock_therapist_calendar(therapist_id)
        old = reload_booking(booking_id)
        require_changeable(old, now)
        if old.group_id is not None:
            raise ConflictError(
                "A group meeting cannot be moved on its own.", extra={"reason": "group"}
            )
        lifecycle.expire_lapsed_holds(now=now, therapist_id=therapist_id)
        schedule = schedule_for(therapist_id, now=now, exclude_booking_ids=[old.id])
        check_bookable(schedule, now, new_start, old.setting, is_new_client=False)
        settings = schedule.settings
        new = lifecycle.move(
            old,
            new=lifecycle.NewSession(
                start=new_start,
                end=new_start + timedelta(minutes=settings.session_minutes),
                setting=old.setting,
                time_zone=settings.time_zone,
                buffer_minutes=settings.buffer_minutes,
                travel_buffer_minutes=settings.travel_buffer_minutes,
            ),
            now=now,
        )
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise taken_error() from None
    except BaseException:
        db.session.rollback()
        raise
    logger.info("rescheduled booking=%s to booking=%s", booking_id, new.id)
    return new


def cancel_booking(
    *,
    booking_id: int,
    actor_id: int,
    now: datetime,
    reason: str | None = None,
    scope: CancelScope = "one",
) -> Booking:
    """Cancel a session (scope "future": it and every later one of its series).

    Cancelling a group meeting cancels every member's session of it too.
    """
    if scope not in ("one", "future"):
        raise ValidationError("Unknown scope.", errors={"scope": ["Use 'one' or 'future'."]})
    cleaned = lifecycle.clean_reason(reason)
    booking = get_booking_for(booking_id=booking_id, user_id=actor_id)
    by = party_of(booking, actor_id)
    assert by is not None
    try:
        lock_therapist_calendar(booking.therapist_id)
        target = reload_booking(booking_id)
        require_changeable(target, now)
        targets = [target]
        if scope == "future" and target.series_id is not None:
            targets += db.session.scalars(
                select(Booking)
                .where(
                    Booking.series_id == target.series_id,
                    Booking.start_at > target.start_at,
                    Booking.status.in_(ACTIVE_STATUSES),
                )
                .order_by(Booking.start_at)
            ).all()
        if target.group_id is not None and target.client_id is None:
            # A group meeting called off: every member's session of it goes too.
            targets += db.session.scalars(
                select(Booking)
                .where(
                    Booking.group_id == target.group_id,
                    Booking.client_id.is_not(None),
                    Booking.start_at == target.start_at,
                    Booking.status.in_(ACTIVE_STATUSES),
                )
                .order_by(Booking.id)
            ).all()
        lifecycle.cancel(
            targets,
            by=by,
            reason=cleaned,
            now=now,
            window_hours=cancellation_window(target.therapist_id),
        )
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return target
