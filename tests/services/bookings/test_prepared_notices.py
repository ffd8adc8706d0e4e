"""A session's invites and reminders are written before the therapist's calendar is locked
(PostgreSQL): they say exactly what the same notices written under the lock say, they are
written afresh when the row booked is not the one they were written for, and a booking
refused under the lock leaves none of them behind."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from teletherapy.domain.errors import ConflictError
from teletherapy.extensions import db as _db
from teletherapy.models import AvailabilitySettings, Booking, BookingCalendarEntry, OutboxMessage
from teletherapy.services import bookings as svc
from teletherapy.services.bookings import lifecycle
from teletherapy.services.messaging import notifications
from tests.booking_setup import set_availability

THU_10 = datetime(2026, 12, 3, 15, 0, tzinfo=UTC)  # Thu 10:00 in New York
FIELDS = ("kind", "user_id", "booking_id", "to_address", "subject", "body_text", "body_html",
          "ics", "ics_method", "due_at", "expires_at", "dedupe_key")  # fmt: skip


@pytest.fixture
def tid(make_user: Any) -> int:
    return set_availability(make_user("therapist", display_name="Dr Ana"))


@pytest.fixture
def client_id(make_user: Any) -> int:
    return int(make_user("client", display_name="Lin").id)


def _said(rows: Any) -> list[tuple[Any, ...]]:
    messages = [r for r in rows if isinstance(r, OutboxMessage)]
    return sorted(tuple(getattr(m, f) for f in FIELDS) for m in messages)


def _session(tid: int) -> lifecycle.NewSession:
    return lifecycle.NewSession(
        start=THU_10,
        end=THU_10 + timedelta(minutes=50),
        setting="online",
        time_zone="America/New_York",
        buffer_minutes=10,
        travel_buffer_minutes=0,
    )


def _prepare(tid: int, client_id: int, now: datetime) -> lifecycle.PreparedSession | None:
    return lifecycle.prepare_session(
        therapist_id=tid,
        client_id=client_id,
        session=_session(tid),
        fee_cents=15000,
        fee_band="d",
        now=now,
    )


def test_notices_written_before_the_lock_say_what_those_written_under_it_say(
    app: Any, database_url: str, tid: int, client_id: int, now: datetime
) -> None:
    prepared = _prepare(tid, client_id, now)
    if database_url.startswith("sqlite"):
        assert prepared is None  # SQLite serialises writers from the start: nothing moves
        return
    assert prepared is not None
    row = prepared.row
    kinds = sorted(type(r).__name__ for r in prepared.notices.rows)
    # The entry, a notice to each party, and each party's reminders (24 h and 2 h).
    assert kinds == ["BookingCalendarEntry"] + ["OutboxMessage"] * 6
    assert not _db.session.new  # nothing entered the transaction yet

    # The same row, written under the lock the way it was before.
    again = Booking(**{c.key: getattr(row, c.key) for c in Booking.__table__.columns})
    _db.session.add(again)
    _db.session.flush()
    notifications.on_booking_confirmed(booking=again, now=now, fresh=True)
    written = [o for o in _db.session.new if isinstance(o, OutboxMessage)]
    assert _said(prepared.notices.rows) == _said(written)
    assert prepared.notices.fits(again)
    entry = _db.session.get(BookingCalendarEntry, row.id)  # flushed by a read since
    (ready,) = [e for e in prepared.notices.rows if isinstance(e, BookingCalendarEntry)]
    assert entry is not None and (entry.uid, entry.recurrence_id) == (ready.uid, None)
    _db.session.rollback()


def test_a_booking_takes_the_id_its_notices_name_and_adds_them_once(
    app: Any, database_url: str, tid: int, client_id: int, now: datetime, monkeypatch: Any
) -> None:
    prepared: list[lifecycle.PreparedSession | None] = []
    original = lifecycle.prepare_session

    def remember(**kwargs: Any) -> lifecycle.PreparedSession | None:
        prepared.append(original(**kwargs))
        return prepared[-1]

    monkeypatch.setattr(lifecycle, "prepare_session", remember)
    booking = svc.book_session(
        client_id=client_id, therapist_id=tid, start=THU_10, setting="online", now=now
    ).first
    messages = _db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert {m.booking_id for m in messages} == {booking.id}
    assert sorted(m.kind for m in messages) == ["booking_confirmed"] * 2 + ["reminder"] * 4
    assert len({m.dedupe_key for m in messages}) == 6
    assert _db.session.get(BookingCalendarEntry, booking.id) is not None
    if database_url.startswith("sqlite"):
        assert prepared == [None]
    else:
        assert prepared[0] is not None and prepared[0].row.id == booking.id

        # What was prepared, as it was (inserted by value, not re-composed).
        def content(m: Any) -> tuple[Any, ...]:
            return (m.dedupe_key, m.kind, m.to_address, m.subject, m.body_text, m.body_html,
                    m.ics, m.ics_method, m.due_at, m.expires_at, m.status)  # fmt: skip

        rows = prepared[0].notices.rows
        assert {content(m) for m in messages} == {
            content(r) for r in rows if isinstance(r, OutboxMessage)
        }


def test_a_row_that_changed_under_the_lock_is_announced_as_it_was_booked(
    app: Any, database_url: str, tid: int, client_id: int, now: datetime, monkeypatch: Any
) -> None:
    """The therapist shortened their sessions (the hour kept) between the first check and
    the lock."""
    original = lifecycle.prepare_session

    def then_shorten(**kwargs: Any) -> lifecycle.PreparedSession | None:
        made = original(**kwargs)
        _db.session.execute(
            update(AvailabilitySettings)
            .where(AvailabilitySettings.therapist_id == tid)
            .values(session_minutes=45, buffer_minutes=15)
        )
        return made

    monkeypatch.setattr(lifecycle, "prepare_session", then_shorten)
    booking = svc.book_session(
        client_id=client_id, therapist_id=tid, start=THU_10, setting="online", now=now
    ).first
    assert booking.end_at == THU_10 + timedelta(minutes=45)
    notices = _db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.kind == "booking_confirmed")
    ).all()
    assert len(notices) == 2
    for notice in notices:
        assert notice.booking_id == booking.id
        assert b"DTEND" in (notice.ics or b"")
        assert b"T104500" in (notice.ics or b"") or b"T154500Z" in (notice.ics or b"")


def test_a_booking_refused_under_the_lock_leaves_no_notice(
    app: Any, database_url: str, tid: int, client_id: int, make_user: Any, now: datetime,
    monkeypatch: Any,
) -> None:  # fmt: skip
    """Someone else took the slot between the first check and the lock."""
    other = int(make_user("client", display_name="Kai").id)
    original = lifecycle.prepare_session

    def then_taken(**kwargs: Any) -> lifecycle.PreparedSession | None:
        made = original(**kwargs)
        _db.session.add(
            Booking(
                therapist_id=tid,
                client_id=other,
                status="confirmed",
                setting="online",
                start_at=THU_10,
                end_at=THU_10 + timedelta(minutes=50),
                blocked_start_at=THU_10,
                blocked_end_at=THU_10 + timedelta(minutes=60),
                time_zone="America/New_York",
                created_at=now,
                updated_at=now,
            )
        )
        return made

    monkeypatch.setattr(lifecycle, "prepare_session", then_taken)
    with pytest.raises(ConflictError):
        svc.book_session(
            client_id=client_id, therapist_id=tid, start=THU_10, setting="online", now=now
        )
    assert _db.session.scalars(select(OutboxMessage)).all() == []
    assert _db.session.scalars(select(BookingCalendarEntry)).all() == []
    assert _db.session.scalars(select(Booking)).all() == []
