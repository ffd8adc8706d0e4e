"""Pages and API cannot drift: the hold-for-payment decision lives in the booking service."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from teletherapy.extensions import db
from teletherapy.models import Booking, Payment
from tests.booking_setup import set_availability
from tests.payment_fakes import FakeGateway, accept

THU_10 = "2026-12-03T15:00:00Z"  # Thu 10:00 New York
THU_11 = "2026-12-03T16:00:00Z"


@pytest.fixture(autouse=True)
def frozen_now(monkeypatch: Any, now: datetime) -> datetime:
    import teletherapy.web.bookings.api as api
    import teletherapy.web.bookings.pages as pages

    monkeypatch.setattr(api, "utcnow", lambda: now)
    monkeypatch.setattr(pages, "utcnow", lambda: now)
    return now


def book_through_the_page(login: Any, client_user: Any, tid: int, start: str) -> Booking:
    browser = login(client_user)
    url = f"/sessions/book/{tid}/confirm?start={start}&setting=online"
    page = browser.get(url)
    key = re.search(r'name="request_key" type="hidden" value="([^"]+)"', page.get_data(True))
    assert key is not None, (page.status_code, page.get_data(True)[-1500:])
    form = {"start": start, "setting": "online", "repeat": "1", "request_key": key.group(1)}
    assert browser.post(url, data=form).status_code == 302
    booking = db.session.scalar(select(Booking).where(Booking.client_id == client_user.id))
    assert booking is not None
    return booking


def ledger(booking_id: int) -> list[tuple[str, str]]:
    rows = db.session.scalars(select(Payment).where(Payment.booking_id == booking_id))
    return sorted((str(p.kind), str(p.status)) for p in rows)


@pytest.mark.parametrize(
    ("methods", "cards", "status"),
    [
        (("pay_now", "pay_at_session"), True, "held"),
        (("card_on_file",), True, "held"),
        (("pay_at_session",), True, "confirmed"),
        (("pay_now", "card_on_file"), False, "confirmed"),  # no Stripe here: pay at session
    ],
)
def test_page_and_api_agree_for_every_way_to_pay(
    app: Flask,
    client: Any,
    login: Any,
    make_user: Any,
    api_token: Any,
    methods: tuple[str, ...],
    cards: bool,
    status: str,
) -> None:
    if cards:
        app.config.update(STRIPE_SECRET_KEY="sk_test_x", STRIPE_PUBLISHABLE_KEY="pk_test_x")
        app.extensions["gateways"].payments = FakeGateway()
    therapist = make_user("therapist")
    tid = set_availability(therapist)
    accept(therapist, *methods)
    page_client, api_client = make_user("client"), make_user("client")

    by_page = book_through_the_page(login, page_client, tid, THU_10)
    response = client.post(
        "/api/v1/bookings",
        headers=api_token(api_client),
        json={"therapist_id": tid, "start": THU_11, "setting": "online"},
    )

    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    assert by_page.status == body["status"] == status
    assert ledger(by_page.id) == ledger(body["id"])
    if status == "held":
        assert body["hold_expires_at"].endswith("Z")
        assert body["payment"]["client_secret"].startswith("seti_")
        assert body["payment"]["publishable_key"] == "pk_test_x"
        assert body["payment"]["pay_url"].endswith(f"/payments/bookings/{body['id']}/pay")
    else:
        assert body.get("payment") is None and body["hold_expires_at"] is None


def test_the_openapi_document_describes_the_payment_of_a_held_booking(client: Any) -> None:
    spec = client.get("/api/v1/openapi.json").get_json()
    booking = spec["components"]["schemas"]["Booking"]["properties"]
    assert "payment" in booking and "hold_expires_at" in booking
