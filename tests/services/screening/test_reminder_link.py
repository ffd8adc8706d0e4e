"""The reminder before a session links to the check-in when the therapist's cadence says so."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from teletherapy.models import OutboxMessage
from teletherapy.services.messaging import notifications
from teletherapy.services.screening import cadence
from tests.booking_rows import add_booking

LINK = "http://testserver/screening/check-in"


def _reminders(db: Any, user_id: int) -> list[OutboxMessage]:
    return list(
        db.session.scalars(
            select(OutboxMessage).where(
                OutboxMessage.kind == "reminder", OutboxMessage.user_id == user_id
            )
        )
    )


def _book(db: Any, therapist: Any, client: Any, start: Any, now: Any) -> None:
    booking = add_booking(db, therapist, client, start, commit=False)
    notifications.on_booking_confirmed(booking=booking, now=now)
    db.session.commit()


def test_reminder_links_the_check_in_only_for_the_client_when_due(
    db: Any, make_user: Any, now: Any
) -> None:
    client = make_user("client", language="es")
    therapist = make_user("therapist")
    add_booking(db, therapist, client, now - timedelta(days=7), status="completed")
    cadence.set_cadence(
        therapist_user_id=therapist.id, client_id=client.id, cadence="every_session", now=now
    )
    _book(db, therapist, client, now + timedelta(days=3), now)
    client_reminders = _reminders(db, client.id)
    assert client_reminders
    for message in client_reminders:
        assert LINK in message.body_text and LINK in (message.body_html or "")
        assert "preguntas breves" in message.body_text
        assert LINK not in message.subject
    assert all(LINK not in m.body_text for m in _reminders(db, therapist.id))


def test_reminder_has_no_link_when_the_cadence_is_off(db: Any, make_user: Any, now: Any) -> None:
    client = make_user("client")
    therapist = make_user("therapist")
    _book(db, therapist, client, now + timedelta(days=3), now)
    reminders = _reminders(db, client.id)
    assert reminders and all(LINK not in m.body_text for m in reminders)
    assert all("check-in" not in m.body_text for m in reminders)


def _pending(db: Any, user_id: int) -> list[OutboxMessage]:
    return [m for m in _reminders(db, user_id) if m.status == "pending"]


def test_a_cadence_set_after_booking_reaches_the_queued_reminders(
    db: Any, make_user: Any, now: Any
) -> None:
    client = make_user("client")
    therapist = make_user("therapist")
    add_booking(db, therapist, client, now - timedelta(days=7), status="completed")
    _book(db, therapist, client, now + timedelta(days=3), now)
    before = _pending(db, client.id)
    assert before and all(LINK not in m.body_text for m in before)
    therapist_reminders = {m.id for m in _pending(db, therapist.id)}

    cadence.set_cadence(
        therapist_user_id=therapist.id, client_id=client.id, cadence="every_session", now=now
    )
    after = _pending(db, client.id)
    assert len(after) == len(before)
    assert all(LINK in m.body_text for m in after)
    assert {m.id for m in _pending(db, therapist.id)} == therapist_reminders  # untouched

    cadence.set_cadence(therapist_user_id=therapist.id, client_id=client.id, cadence="off", now=now)
    again = _pending(db, client.id)
    assert len(again) == len(before) and all(LINK not in m.body_text for m in again)
