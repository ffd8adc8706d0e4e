"""Audit entries for what people open and change through pages and the API (by endpoint).

Views stay thin: one hook after each request asks `record_request`, which knows which
endpoints touch whose data (sessions, receipts, superbills, profiles) and that every
administrator action is recorded. Screening results are recorded by their own services.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from teletherapy.extensions import db
from teletherapy.models import Booking, Payment, TherapistProfile
from teletherapy.services.audit import record_event

logger = logging.getLogger(__name__)

# endpoint -> (resource type, the view argument holding its id, or None for "the actor's own")
AUDITED: dict[str, tuple[str, str | None]] = {
    "sessions.detail": ("booking", "booking_id"),
    "sessions.cancel": ("booking", "booking_id"),
    "sessions.reschedule": ("booking", "booking_id"),
    "sessions.join": ("booking", "booking_id"),
    "practice.attendance": ("booking", "booking_id"),
    "calendar.invite": ("booking", "booking_id"),
    "api_bookings.get_booking": ("booking", "booking_id"),
    "api_bookings.cancel_booking": ("booking", "booking_id"),
    "api_bookings.reschedule_booking": ("booking", "booking_id"),
    "api_bookings.get_invite": ("booking", "booking_id"),
    "payments.receipt": ("payment", "payment_id"),
    "payments.mark_paid": ("booking", "booking_id"),
    "payments.waive": ("booking", "booking_id"),
    "payments.superbill": ("superbill", None),
    "payments.superbill_as_pdf": ("superbill", None),
    "practice.edit_profile": ("therapist_profile", None),
    "accounts.settings": ("account", None),
    "api_me.get_me": ("account", None),
    "api_me.put_me": ("account", None),
}
ADMIN_PREFIXES = ("admin.", "matching_admin.", "audit_admin.", "api_admin", "equity")
# What an admin endpoint's id argument names.
ADMIN_SUBJECTS = {"user_id": "user", "therapist_id": "therapist_profile"}


def is_audited(endpoint: str) -> bool:
    return endpoint in AUDITED or endpoint.startswith(ADMIN_PREFIXES)


def _subject(resource_type: str, resource_id: Any, actor_id: int) -> int | None:
    """Whose data this is: the client of a session or payment, a profile's owner."""
    if resource_id is None:
        return actor_id
    if resource_type == "booking":
        booking = db.session.get(Booking, int(resource_id))
        return booking.client_id if booking is not None else None
    if resource_type == "payment":
        payment = db.session.get(Payment, int(resource_id))
        booking = db.session.get(Booking, payment.booking_id) if payment is not None else None
        return booking.client_id if booking is not None else None
    if resource_type == "therapist_profile":
        profile = db.session.get(TherapistProfile, int(resource_id))
        return profile.user_id if profile is not None else None
    if resource_type == "user":
        return int(resource_id)
    return None


def record_request(
    *, actor_id: int, endpoint: str, method: str, view_args: Mapping[str, Any], now: datetime
) -> None:
    """Record one audited request (its own commit, after the view's own)."""
    verb = "view" if method in ("GET", "HEAD") else "change"
    if endpoint in AUDITED:
        resource_type, argument = AUDITED[endpoint]
        resource_id = view_args.get(argument) if argument else None
        subject = _subject(resource_type, resource_id, actor_id)
        if resource_id is None:
            resource_id = subject
        action = f"{verb}:{endpoint}"
    else:
        argument = next((name for name in ADMIN_SUBJECTS if name in view_args), None)
        resource_type = ADMIN_SUBJECTS[argument] if argument else "admin"
        resource_id = view_args.get(argument) if argument else None
        subject = _subject(resource_type, resource_id, actor_id) if argument else None
        action = f"admin-{verb}:{endpoint}"
    record_event(
        actor_id=actor_id,
        subject_user_id=subject,
        action=action[:60],
        resource_type=resource_type,
        resource_id=resource_id,
        now=now,
    )
    db.session.commit()
