"""A booking writes its rows and notices before the bookers' lock and checks again under
it: what the lock protects is decided there, and a refusal there leaves nothing behind."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from teletherapy.domain.errors import ConflictError
from teletherapy.extensions import db as _db
from teletherapy.models import AvailabilitySettings, Booking, OutboxMessage, TherapistProfile
from teletherapy.services import bookings as svc
from teletherapy.services.bookings import book as book_module
from teletherapy.services.bookings.queries import is_new_client
from tests.booking_setup import set_availability

THU_10 = datetime(2026, 12, 3, 15, 0, tzinfo=UTC)  # Thu 10:00 New York


def count(model: Any) -> int:
    return int(_db.session.scalar(select(func.count()).select_from(model)))


def book(client_id: int, tid: int, now: datetime) -> Booking:
    return svc.book_session(
        client_id=client_id, therapist_id=tid, start=THU_10, setting="online", now=now
    ).first


def at_the_lock(monkeypatch: Any, action: Any) -> None:
    """Run `action()` in the booking's transaction right after the bookers' lock."""
    take = book_module.lock_therapist_bookings

    def hooked(therapist_id: int) -> None:
        take(therapist_id)
        action()

    monkeypatch.setattr(book_module, "lock_therapist_bookings", hooked)


def test_the_notices_are_written_before_the_bookers_lock(
    make_user: Any, now: datetime, monkeypatch: Any
) -> None:
    tid = set_availability(make_user("therapist"))
    seen: list[tuple[int, int]] = []
    at_the_lock(monkeypatch, lambda: seen.append((count(Booking), count(OutboxMessage))))
    booking = book(make_user("client").id, tid, now)
    written = count(OutboxMessage)
    assert written >= 2  # an invite to each party (and their reminders)
    assert seen == [(1, written)]  # all of it was there when the lock was taken
    kinds = _db.session.scalars(
        select(OutboxMessage.kind).where(OutboxMessage.booking_id == booking.id)
    ).all()
    assert kinds.count("booking_confirmed") == 2


def test_a_refusal_under_the_lock_rolls_back_the_rows_and_notices(
    make_user: Any, now: datetime, monkeypatch: Any
) -> None:
    tid = set_availability(make_user("therapist"))

    def stop_accepting() -> None:  # as if committed by someone else just before the lock
        profile = _db.session.get(TherapistProfile, tid)
        assert profile is not None
        profile.accepting_new_clients = False
        _db.session.flush()

    at_the_lock(monkeypatch, stop_accepting)
    with pytest.raises(ConflictError) as exc:
        book(make_user("client").id, tid, now)
    assert exc.value.extra["reason"] == "not_accepting"
    assert count(Booking) == 0
    assert count(OutboxMessage) == 0


def test_rows_cut_with_settings_changed_before_the_lock_are_refused(
    make_user: Any, now: datetime, monkeypatch: Any
) -> None:
    tid = set_availability(make_user("therapist"))

    def lengthen_sessions() -> None:
        settings = _db.session.get(AvailabilitySettings, tid)
        assert settings is not None
        settings.session_minutes += 15
        _db.session.flush()

    at_the_lock(monkeypatch, lengthen_sessions)
    with pytest.raises(ConflictError) as exc:
        book(make_user("client").id, tid, now)
    assert exc.value.extra["reason"] == "taken"
    assert count(Booking) == 0 and count(OutboxMessage) == 0


def test_is_new_client_leaves_out_the_bookings_being_made(make_user: Any, now: datetime) -> None:
    tid = set_availability(make_user("therapist"))
    client_id = make_user("client").id
    booking_id = book(client_id, tid, now).id
    assert not is_new_client(client_id=client_id, therapist_id=tid)
    assert is_new_client(client_id=client_id, therapist_id=tid, exclude_booking_ids=[booking_id])
