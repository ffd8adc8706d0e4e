"""A therapist changes their hours over booked sessions: 409 listing them, keep or cancel."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from teletherapy.domain.errors import ConflictError, ValidationError
from teletherapy.extensions import db
from teletherapy.models import Booking, OutboxMessage
from teletherapy.services import bookings
from tests.booking_setup import set_availability

THU_10 = datetime(2026, 12, 3, 15, 0, tzinfo=UTC)  # Thu 10:00 New York
DAY_OFF = {"overrides": [{"date": "2026-12-03", "available": False}]}


@pytest.fixture
def setup(make_user: Any, now: datetime) -> tuple[int, Any, Booking]:
    therapist = make_user("therapist")
    tid = set_availability(therapist)
    client = make_user("client", language="es")
    booked = bookings.book_session(
        client_id=client.id, therapist_id=tid, start=THU_10, setting="online", now=now
    ).first
    return tid, client, booked


def test_a_day_off_over_a_booked_session_is_refused_listing_it(setup: Any, now: datetime) -> None:
    tid, _, booked = setup
    with pytest.raises(ConflictError) as caught:
        bookings.change_hours(therapist_id=tid, payload=DAY_OFF, now=now)
    assert caught.value.extra["affected"] == [
        {"booking_id": booked.id, "start": "2026-12-03T15:00:00Z"}
    ]
    assert bookings.get_therapist_calendar(therapist_id=tid, now=now)  # nothing changed
    assert db.session.get(Booking, booked.id).status == "confirmed"
    outside = bookings.list_outside_hours(therapist_id=tid, payload=DAY_OFF, now=now)
    assert [b.id for b in outside] == [booked.id]


def test_keep_saves_the_hours_and_leaves_the_session(setup: Any, now: datetime) -> None:
    tid, _, booked = setup
    saved = bookings.change_hours(
        therapist_id=tid, payload=DAY_OFF, now=now, affected_bookings="keep"
    )
    assert saved["overrides"] == [{"date": "2026-12-03", "available": False}]
    assert db.session.get(Booking, booked.id).status == "confirmed"


def test_cancel_cancels_as_the_therapist_and_tells_the_client_in_their_language(
    setup: Any, now: datetime
) -> None:
    tid, client, booked = setup
    bookings.change_hours(therapist_id=tid, payload=DAY_OFF, now=now, affected_bookings="cancel")
    row = db.session.get(Booking, booked.id)
    assert (row.status, row.cancelled_by, row.is_late_cancellation) == (
        "cancelled",
        "therapist",
        False,
    )
    notice = db.session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.user_id == client.id, OutboxMessage.kind == "booking_cancelled")
        .order_by(OutboxMessage.id.desc())
    ).first()
    assert notice is not None
    assert "Reserve otra hora" in notice.body_text
    assert f"/sessions/book/{tid}" in notice.body_text


def test_shorter_hours_and_a_longer_session_count_too(setup: Any, now: datetime) -> None:
    tid, _, _ = setup
    later_start = {
        "weekly": [{"weekday": 3, "start": "11:00", "end": "17:00", "setting": "online"}]
    }
    with pytest.raises(ConflictError):
        bookings.change_hours(therapist_id=tid, payload=later_start, now=now)
    assert (
        bookings.list_outside_hours(therapist_id=tid, payload={"session_minutes": 50}, now=now)
        == []
    )


def test_an_unknown_choice_is_refused(setup: Any, now: datetime) -> None:
    tid, _, _ = setup
    with pytest.raises(ValidationError) as caught:
        bookings.change_hours(therapist_id=tid, payload=DAY_OFF, now=now, affected_bookings="x")
    assert "affected_bookings" in caught.value.errors


def test_the_api_answers_409_problem_json_with_affected(
    setup: Any, client: Any, api_token: Any, make_user: Any, now: datetime, monkeypatch: Any
) -> None:
    import teletherapy.web.availability.api as api

    monkeypatch.setattr(api, "utcnow", lambda: now)
    tid, _, booked = setup
    from teletherapy.models import TherapistProfile

    therapist_user = db.session.get(TherapistProfile, tid).user
    headers = api_token(therapist_user)
    response = client.put("/api/v1/me/availability", headers=headers, json=DAY_OFF)
    assert response.status_code == 409
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["affected"] == [
        {"booking_id": booked.id, "start": "2026-12-03T15:00:00Z"}
    ]
    kept = client.put(
        "/api/v1/me/availability", headers=headers, json={**DAY_OFF, "affected_bookings": "keep"}
    )
    assert kept.status_code == 200, kept.get_data(as_text=True)
