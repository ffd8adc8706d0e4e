"""End to end: a confirmed booking's invite goes through the outbox sweep to a real SMTP server."""

from __future__ import annotations

import email
from collections.abc import Iterator
from datetime import UTC, timedelta
from email import policy
from email.message import EmailMessage
from typing import Any

import icalendar
import pytest
from sqlalchemy import select

from teletherapy.clock import utcnow
from teletherapy.jobs import tasks
from teletherapy.models import OutboxMessage
from teletherapy.services.messaging import notifications
from tests.booking_rows import add_booking
from tests.peers import free_port, peer_missing

pytestmark = pytest.mark.peer


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((list(envelope.rcpt_tos), envelope.original_content))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    try:
        from aiosmtpd.controller import Controller
    except ImportError:  # pragma: no cover - dev extras always have it
        peer_missing("aiosmtpd is not installed")
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


@pytest.fixture
def app_config(smtp: tuple[Inbox, int]) -> dict[str, Any]:
    return {
        "MAIL_URL": f"smtp://127.0.0.1:{smtp[1]}",
        "MAIL_FROM": "Teletherapy <sessions@teletherapy.test>",
    }


def test_confirmed_booking_reaches_both_inboxes_with_a_request_invite(app, db, make_user, smtp):
    inbox, _ = smtp
    therapist = make_user("therapist", display_name="Ana Rivera")
    client = make_user("client", display_name="Sam Lee")
    start = (utcnow() + timedelta(days=3)).replace(microsecond=0)
    booking = add_booking(db, therapist, client, start)
    notifications.on_booking_confirmed(booking=booking, now=utcnow())
    db.session.commit()

    tasks.sweep_outbox(app, "end-to-end")  # what the scheduler's interval job runs

    assert sorted(r for rcpts, _ in inbox.messages for r in rcpts) == sorted(
        [therapist.email, client.email]
    )
    for _, raw in inbox.messages:
        parsed = email.message_from_bytes(raw, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        assert parsed["From"] == "Teletherapy <sessions@teletherapy.test>"
        parts = {p.get_content_type(): p for p in parsed.walk()}
        assert "Your session is booked" in parts["text/plain"].get_content()
        calendar_part = parts["text/calendar"]
        assert calendar_part.get_param("method") == "REQUEST"
        ics = calendar_part.get_payload(decode=True)
        assert parts["application/ics"].get_payload(decode=True) == ics
        calendar = icalendar.Calendar.from_ical(ics)
        assert calendar["METHOD"] == "REQUEST"
        [event] = calendar.walk("VEVENT")
        assert str(event["UID"]) == f"booking-{booking.id}@teletherapy"
        assert event["DTSTART"].dt.astimezone(UTC) == start
        assert str(event["ORGANIZER"]) == "mailto:sessions@teletherapy.test"
        assert str(event["ATTENDEE"]) == f"mailto:{parsed['To']}"
    db.session.expire_all()
    statuses = {r.kind: r.status for r in db.session.scalars(select(OutboxMessage))}
    assert statuses == {"booking_confirmed": "sent", "reminder": "pending"}
