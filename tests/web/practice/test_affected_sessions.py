"""The availability page shows booked sessions a change leaves outside the hours, and asks."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from teletherapy.extensions import db
from teletherapy.models import Booking
from teletherapy.services import bookings
from tests.booking_setup import set_availability

THU_10 = datetime(2026, 12, 3, 15, 0, tzinfo=UTC)  # Thu 10:00 New York
# Thursday mornings only, New York: the booked 10:00 session stays inside; a vacation
# over Dec 3 leaves it outside.
FORM: dict[str, str] = {
    "time_zone": "America/New_York",
    "session_minutes": "50",
    "buffer_minutes": "10",
    "travel_buffer_minutes": "30",
    "min_notice_hours": "24",
    "horizon_days": "60",
    "max_per_day": "",
    "max_per_week": "",
    "cancellation_window_hours": "24",
    "accepting_new_clients": "on",
    "weekly-0-weekday": "3",
    "weekly-0-start": "09:00",
    "weekly-0-end": "17:00",
    "weekly-0-setting": "online",
    "vacation_from": "2026-12-02",
    "vacation_to": "2026-12-04",
}


@pytest.fixture(autouse=True)
def frozen_now(monkeypatch: Any, now: datetime) -> datetime:
    import teletherapy.web.practice.availability as pages

    monkeypatch.setattr(pages, "utcnow", lambda: now)
    return now


@pytest.mark.parametrize(("choice", "status"), [("keep", "confirmed"), ("cancel", "cancelled")])
def test_a_vacation_over_a_session_shows_it_then_keeps_or_cancels_it(
    client: Any, make_user: Any, login: Any, now: datetime, choice: str, status: str
) -> None:
    therapist = make_user("therapist")
    tid = set_availability(therapist)
    patient = make_user("client", display_name="Rosa Diaz")
    booked = bookings.book_session(
        client_id=patient.id, therapist_id=tid, start=THU_10, setting="online", now=now
    ).first
    login(therapist)

    asked = client.post("/practice/availability", data=FORM)
    page = asked.get_data(as_text=True)
    assert asked.status_code == 409
    assert 'id="affected-sessions"' in page and "Rosa Diaz" in page
    assert db.session.get(Booking, booked.id).status == "confirmed"  # nothing saved yet

    done = client.post("/practice/availability", data={**FORM, "affected_bookings": choice})
    assert done.status_code == 302
    db.session.expire_all()
    assert db.session.get(Booking, booked.id).status == status
