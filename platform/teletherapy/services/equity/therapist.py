"""A therapist's own reduced-fee places and waiting time, beside the platform's median."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select

from teletherapy.domain import suppression
from teletherapy.domain.equity import summary_statistics
from teletherapy.extensions import db
from teletherapy.models import Booking, TherapistProfile
from teletherapy.services.availability.schedules import is_therapist_time
from teletherapy.services.equity.metrics import capacity, instants


@dataclass(frozen=True)
class TherapistEquity:
    """A therapist's own numbers (no suppression: they are theirs) beside the platform's."""

    weekly_cap: int | None
    places_offered: int
    places_used: int
    new_clients: int
    hours_to_first_session_median: float | None
    platform_hours_to_first_session_median: float | None  # None when under 11 clients


def hours_to_first_session(therapist_id: int | None, start: datetime, end: datetime) -> list[float]:
    """Hours from booking to session for each client's first session with a therapist
    (that therapist's, or every therapist's), first sessions starting in the range."""
    rows = db.session.execute(
        select(Booking.therapist_id, Booking.client_id, Booking.created_at, Booking.start_at)
        .where(
            Booking.client_id.is_not(None),
            Booking.status.in_(("confirmed", "completed", "no_show")),
            is_therapist_time(),
            *([Booking.therapist_id == therapist_id] if therapist_id is not None else []),
        )
        .order_by(Booking.start_at, Booking.id)
    ).all()
    first: dict[tuple[int, int], Any] = {}
    for row in rows:
        first.setdefault((row.therapist_id, row.client_id), row)
    return [
        (row.start_at - row.created_at).total_seconds() / 3600
        for row in first.values()
        if start <= row.start_at < end
    ]


def therapist_equity(
    *, therapist_id: int, date_from: date, date_to: date, now: datetime
) -> TherapistEquity:
    start, end = instants(date_from, date_to)
    profile = db.session.get(TherapistProfile, therapist_id)
    cap = profile.reduced_fee_weekly_cap if profile is not None else None
    mine = [o for o in capacity(start, end) if o.unit == ("therapist", therapist_id)]
    own = hours_to_first_session(therapist_id, start, end)
    platform = hours_to_first_session(None, start, end)
    own_median, _ = summary_statistics(own)
    platform_median, _ = (
        summary_statistics(platform)
        if len(platform) >= suppression.SUPPRESS_BELOW
        else (None, None)
    )
    db.session.rollback()
    return TherapistEquity(
        weekly_cap=cap,
        places_offered=int(mine[0].numbers["offered"]) if mine else 0,
        places_used=int(mine[0].numbers["used"]) if mine else 0,
        new_clients=len(own),
        hours_to_first_session_median=None if own_median is None else round(own_median, 1),
        platform_hours_to_first_session_median=(
            None if platform_median is None else round(platform_median, 1)
        ),
    )
