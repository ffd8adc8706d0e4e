"""A therapist changes their hours over booked sessions: say which sessions fall outside,
and keep them or cancel them (cancelled by the therapist: full refund, the client told
in their own language with a link to book again)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import select

from teletherapy.domain.errors import ConflictError, ValidationError
from teletherapy.domain.slots import expand_rules
from teletherapy.extensions import db
from teletherapy.models import ACTIVE_STATUSES, Booking
from teletherapy.services.availability.rules import apply_availability, get_availability
from teletherapy.services.availability.schedules import lock_therapist_calendar
from teletherapy.services.bookings import lifecycle
from teletherapy.services.bookings.queries import cancellation_window, isoformat_z

logger = logging.getLogger(__name__)

AffectedChoice = Literal["keep", "cancel"]
CHOICES: tuple[AffectedChoice, ...] = ("keep", "cancel")
HOURS_CHANGED_REASON = "The therapist changed their hours."


def change_hours(
    *,
    therapist_id: int,
    payload: Mapping[str, Any],
    now: datetime,
    affected_bookings: str | None = None,
) -> dict[str, Any]:
    """Save new availability in one transaction. When active sessions to come would fall
    outside the new hours, a 409 lists them (`affected`) and nothing changes, unless
    `affected_bookings` says "keep" (they stay) or "cancel" (cancelled by the therapist)."""
    if affected_bookings is not None and affected_bookings not in CHOICES:
        raise ValidationError(
            "Say what to do with the sessions outside the new hours.",
            errors={"affected_bookings": ["Use 'keep' or 'cancel'."]},
        )
    try:
        lock_therapist_calendar(therapist_id)
        settings, rules, overrides = apply_availability(therapist_id=therapist_id, payload=payload)
        outside = _outside(therapist_id, settings, rules, overrides, now=now)
        if outside and affected_bookings is None:
            raise ConflictError(
                f"{len(outside)} booked session(s) would fall outside your new hours; "
                "keep them or cancel them. Nothing was saved.",
                extra={
                    "reason": "affected_bookings",
                    "affected": [
                        {"booking_id": b.id, "start": isoformat_z(b.start_at)} for b in outside
                    ],
                },
            )
        if outside and affected_bookings == "cancel":
            lifecycle.cancel(
                outside,
                by="therapist",
                reason=HOURS_CHANGED_REASON,
                now=now,
                window_hours=cancellation_window(therapist_id),
            )
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    logger.info(
        "hours changed therapist=%s outside=%s choice=%s",
        therapist_id,
        [b.id for b in outside],
        affected_bookings,
    )
    return get_availability(therapist_id=therapist_id)


def list_outside_hours(
    *, therapist_id: int, payload: Mapping[str, Any], now: datetime
) -> list[Booking]:
    """The sessions the change would leave outside the hours (nothing is saved)."""
    try:
        settings, rules, overrides = apply_availability(therapist_id=therapist_id, payload=payload)
        return _outside(therapist_id, settings, rules, overrides, now=now)
    finally:
        db.session.rollback()


def _outside(
    therapist_id: int,
    settings: Any,
    rules: Sequence[Any],
    overrides: Sequence[Any],
    *,
    now: datetime,
) -> list[Booking]:
    """Active individual sessions to come that no new window of their setting covers
    (from the start through the new session length)."""
    upcoming = list(
        db.session.scalars(
            select(Booking)
            .where(
                Booking.therapist_id == therapist_id,
                Booking.group_id.is_(None),
                Booking.status.in_(ACTIVE_STATUSES),
                Booking.start_at > now,
            )
            .order_by(Booking.start_at)
        )
    )
    if not upcoming:
        return []
    length = timedelta(minutes=settings.session_minutes)
    windows = expand_rules(
        rules,
        overrides,
        settings.time_zone,
        upcoming[0].start_at.date() - timedelta(days=1),
        upcoming[-1].start_at.date() + timedelta(days=1),
    )
    return [
        b
        for b in upcoming
        if not any(
            setting == b.setting
            and window.start <= b.start_at
            and b.start_at + length <= window.end
            for window, setting in windows
        )
    ]
