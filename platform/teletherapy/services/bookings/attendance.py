"""Attendance: the therapist records a session that has started as completed or a no-show."""

from __future__ import annotations

from datetime import datetime

from teletherapy.domain.booking import BookingStatus
from teletherapy.domain.errors import ConflictError, NotFoundError, ValidationError
from teletherapy.extensions import db
from teletherapy.models import Booking
from teletherapy.services.availability.schedules import lock_therapist_calendar
from teletherapy.services.bookings import lifecycle
from teletherapy.services.bookings.queries import get_booking_for, party_of, reload_booking

ATTENDANCE = (BookingStatus.COMPLETED, BookingStatus.NO_SHOW)


def mark_attendance(
    *, booking_id: int, therapist_user_id: int, status: str, now: datetime
) -> Booking:
    """The therapist records a session as completed or a no-show, once it has started."""
    if status not in ATTENDANCE:
        raise ValidationError(
            "Unknown attendance.", errors={"status": ["Use 'completed' or 'no_show'."]}
        )
    booking = get_booking_for(booking_id=booking_id, user_id=therapist_user_id)
    if party_of(booking, therapist_user_id) != "therapist":
        raise NotFoundError("No such session.")
    try:
        lock_therapist_calendar(booking.therapist_id)
        booking = reload_booking(booking_id)
        if now < booking.start_at:
            raise ConflictError(
                "Attendance can be recorded once the session has started.",
                extra={"reason": "not_started"},
            )
        lifecycle.record_attendance(booking, status=BookingStatus(status), now=now)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return booking
