"""Booking rows made directly through the models (the booking service is built elsewhere)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from teletherapy.domain.booking import weekly_series_starts
from teletherapy.models import Booking, BookingSeries, User


def add_booking(
    db: Any,
    therapist: User,
    client: User | None,
    start: datetime,
    *,
    minutes: int = 50,
    setting: str = "online",
    status: str = "confirmed",
    series: BookingSeries | None = None,
    commit: bool = True,
) -> Booking:
    assert therapist.therapist is not None
    end = start + timedelta(minutes=minutes)
    booking = Booking(
        therapist_id=therapist.therapist.id,
        client_id=client.id if client is not None else None,
        series_id=series.id if series is not None else None,
        status=status,
        setting=setting,
        start_at=start,
        end_at=end,
        blocked_start_at=start,
        blocked_end_at=end + timedelta(minutes=10),
        time_zone=therapist.time_zone,
        fee_cents=4000,
    )
    db.session.add(booking)
    if commit:
        db.session.commit()
    else:
        db.session.flush()
    return booking


def add_series(
    db: Any,
    therapist: User,
    client: User,
    first_start: datetime,
    *,
    count: int,
    time_zone: str = "America/New_York",
    setting: str = "online",
) -> tuple[BookingSeries, list[Booking]]:
    """A weekly series and its bookings (flushed, not committed: the caller's transaction)."""
    assert therapist.therapist is not None
    series = BookingSeries(
        therapist_id=therapist.therapist.id,
        client_id=client.id,
        time_zone=time_zone,
        count=count,
        setting=setting,
    )
    db.session.add(series)
    db.session.flush()
    bookings = [
        add_booking(db, therapist, client, start, setting=setting, series=series, commit=False)
        for start in weekly_series_starts(first_start, time_zone, count)
    ]
    return series, bookings


def move(booking: Booking, start: datetime) -> Booking:
    """Move a booking in place (as a reschedule may), keeping its length and buffer."""
    length = booking.end_at - booking.start_at
    booking.start_at, booking.end_at = start, start + length
    booking.blocked_start_at, booking.blocked_end_at = start, start + length + timedelta(minutes=10)
    return booking
