"""Money where the decision is made: the confirm, cancel and session pages state amounts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask

from teletherapy.services import bookings as svc
from teletherapy.services import payments
from tests.booking_setup import set_availability

THU_10 = datetime(2026, 12, 3, 15, 0, tzinfo=UTC)  # Thu 10:00 New York
THU_10_Z = "2026-12-03T15:00:00Z"


@pytest.fixture(autouse=True)
def frozen(app: Flask, monkeypatch: Any, now: datetime) -> None:
    import teletherapy.web.bookings.pages as views

    monkeypatch.setattr(views, "utcnow", lambda: now)


@pytest.fixture
def therapist(make_user: Any) -> Any:
    return make_user("therapist", display_name="Dr Ana")


@pytest.fixture
def tid(therapist: Any) -> int:
    tid = set_availability(therapist, cancellation_window_hours=48)
    payments.update_settings(
        therapist=therapist,
        accepts_pay_now=False,
        accepts_card_on_file=False,
        accepts_pay_at_session=True,
        late_cancel_fee_cents=4000,
        waive_first_late_cancel=False,
    )
    return tid


@pytest.fixture
def client_user(make_user: Any) -> Any:
    return make_user("client", display_name="Lin Chen")


def html(response: Any) -> str:
    return str(response.get_data(as_text=True))


def test_confirm_page_shows_price_method_deadline_and_fee(
    login: Any, client_user: Any, tid: int
) -> None:
    page = html(
        login(client_user).get(f"/sessions/book/{tid}/confirm?start={THU_10_Z}&setting=online")
    )
    assert "$150 per session" in page
    assert "At the session: you pay your therapist directly." in page
    assert "Free until Tuesday, December 1, 2026, 10:00 am EST" in page
    assert "$40" in page and "A missed session costs the same." in page


def test_confirm_page_says_late_for_a_session_inside_the_window(
    login: Any, client_user: Any, tid: int, now: datetime
) -> None:
    soon = (now + timedelta(hours=29)).strftime("%Y-%m-%dT%H:%M:%SZ")
    page = html(login(client_user).get(f"/sessions/book/{tid}/confirm?start={soon}&setting=online"))
    assert "Free until" not in page
    assert "starts in less than 48 hours" in page


def test_confirm_page_totals_a_weekly_series(login: Any, client_user: Any, tid: int) -> None:
    page = html(
        login(client_user).get(
            f"/sessions/book/{tid}/confirm?start={THU_10_Z}&setting=online&repeat=4"
        )
    )
    assert "4 sessions \u00d7 $150 = $600 in all" in page


def test_cancel_page_states_the_late_fee_and_the_session_then_shows_it(
    login: Any, client_user: Any, tid: int, now: datetime, monkeypatch: Any
) -> None:
    import teletherapy.web.bookings.pages as views

    booking = svc.book_session(
        client_id=client_user.id, therapist_id=tid, start=THU_10, setting="online", now=now
    ).first
    late = THU_10 - timedelta(hours=10)
    monkeypatch.setattr(views, "utcnow", lambda: late)
    browser = login(client_user)
    page = html(browser.get(f"/sessions/{booking.id}/cancel"))
    assert "Cancelling now costs $40." in page
    browser.post(f"/sessions/{booking.id}/cancel", data={"scope": "one"})
    detail = html(browser.get(f"/sessions/{booking.id}"))
    assert "Late-cancellation fee $40" in detail and "$40 still owed" in detail
    assert "$150" not in detail


def test_cancel_page_says_free_before_the_deadline(
    login: Any, client_user: Any, tid: int, now: datetime
) -> None:
    booking = svc.book_session(
        client_id=client_user.id, therapist_id=tid, start=THU_10, setting="online", now=now
    ).first
    page = html(login(client_user).get(f"/sessions/{booking.id}/cancel"))
    assert "Cancelling now is free." in page


def test_my_sessions_empty_state_offers_the_next_step(login: Any, client_user: Any) -> None:
    page = html(login(client_user).get("/sessions"))
    assert "No upcoming sessions." in page and 'href="/find"' in page


def test_confirm_page_says_why_when_the_clients_band_is_not_accepted(
    login: Any, make_user: Any, tid: int
) -> None:
    from teletherapy.extensions import db
    from teletherapy.models import TherapistFee

    db.session.query(TherapistFee).filter(TherapistFee.therapist_id == tid).delete()
    db.session.commit()
    response = login(make_user("client")).get(
        f"/sessions/book/{tid}/confirm?start={THU_10_Z}&setting=online"
    )
    assert response.status_code == 409
    page = html(response)
    assert 'class="error-summary"' in page and 'id="price"' not in page
