"""Bookings: the lifecycle of a session (lifecycle.py), and its use cases.

The use cases most callers need, re-exported: book.py (book a session or a
series), change.py (confirm a hold, reschedule, cancel), attendance.py, queries.py.
"""

from teletherapy.models import Booking
from teletherapy.services.bookings.attendance import mark_attendance
from teletherapy.services.bookings.book import (
    MAX_HOLD_MINUTES,
    SERIES_WEEKS,
    BookingResult,
    book_session,
    hold_minutes_for,
)
from teletherapy.services.bookings.change import (
    CancelScope,
    cancel_booking,
    confirm_hold,
    reschedule_booking,
)
from teletherapy.services.bookings.hours import change_hours, list_outside_hours
from teletherapy.services.bookings.queries import (
    MAX_SLOT_RANGE_DAYS,
    CancellationPreview,
    PartyNames,
    TherapistCalendar,
    actions_for,
    get_booking_for,
    get_therapist_calendar,
    is_changeable,
    is_new_client,
    isoformat_z,
    join_link,
    list_bookings_for,
    list_slots,
    names_for,
    preview_cancellation,
)

__all__ = [
    "MAX_HOLD_MINUTES",
    "MAX_SLOT_RANGE_DAYS",
    "SERIES_WEEKS",
    "Booking",
    "BookingResult",
    "CancelScope",
    "CancellationPreview",
    "PartyNames",
    "TherapistCalendar",
    "actions_for",
    "book_session",
    "cancel_booking",
    "change_hours",
    "confirm_hold",
    "get_booking_for",
    "get_therapist_calendar",
    "hold_minutes_for",
    "is_changeable",
    "is_new_client",
    "isoformat_z",
    "join_link",
    "list_bookings_for",
    "list_outside_hours",
    "list_slots",
    "mark_attendance",
    "names_for",
    "preview_cancellation",
    "reschedule_booking",
]
