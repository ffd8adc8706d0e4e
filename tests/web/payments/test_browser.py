"""Chromium pays for held bookings through the pay page, with Stripe.js served by localstripe.

A card that pays, a card the bank declines, and a 3-D Secure card whose challenge
(localstripe's "Complete authentication" box) the client completes.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask

from teletherapy.clock import utcnow
from teletherapy.extensions import db
from teletherapy.models import Booking, Payment
from tests.browser import chromium
from tests.conftest import PASSWORD
from tests.localstripe import LiveServer, register_webhook, stripe_settings
from tests.payment_fakes import accept, add_booking

pytestmark = [pytest.mark.browser, pytest.mark.peer]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as browser:
        yield browser


@pytest.fixture
def app_config(localstripe_url: str) -> dict[str, Any]:
    # CSRF on, as in production: the page script sends the token in X-CSRFToken.
    return {**stripe_settings(localstripe_url), "WTF_CSRF_ENABLED": True}


@pytest.fixture
def database_url(sqlite_template: Any, tmp_path: Any) -> str:
    """SQLite only: the browser flow does not depend on the database engine."""
    import shutil

    path = tmp_path / "browser.sqlite3"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def shop(
    app: Flask, make_user: Any, live_server: LiveServer, localstripe_url: str
) -> tuple[Any, Any, str]:
    register_webhook(localstripe_url, "teletherapy-app", f"{live_server.url}/webhooks/stripe")
    therapist = make_user("therapist", display_name="Ana Reyes")
    client = make_user("client", display_name="Sam Client")
    accept(therapist, "pay_now", "pay_at_session")
    email = client.email
    db.session.rollback()  # SQLite: hold no lock while the server thread serves the browser
    return therapist, client, email


@pytest.fixture
def page(browser: Any, live_server: LiveServer, shop: Any) -> Iterator[Any]:
    context = browser.new_context()
    tab = context.new_page()
    tab.set_default_timeout(20_000)
    tab.goto(f"{live_server.url}/sign-in")
    tab.get_by_label("Email").fill(shop[2])
    tab.get_by_label("Password").fill(PASSWORD)
    tab.locator("form.card input[type=submit], form.card button[type=submit]").first.click()
    tab.wait_for_url(f"{live_server.url}/")
    try:
        yield tab
    finally:
        context.close()


def held_booking(shop: Any, days: int) -> int:
    now = utcnow()
    booking = add_booking(shop[0], shop[1], start=now + timedelta(days=days), now=now)
    booking_id = booking.id
    db.session.rollback()  # leave SQLite free for the server thread
    return booking_id


def status(booking_id: int) -> tuple[str, list[str]]:
    db.session.rollback()
    booking = db.session.get(Booking, booking_id)
    assert booking is not None
    lines = [
        p.status for p in db.session.query(Payment).filter(Payment.booking_id == booking_id).all()
    ]
    result = (booking.status, lines)
    db.session.rollback()
    return result


def fill_card(page: Any, number: str) -> None:
    form = page.locator('form[data-method="pay_now"]')
    form.get_by_placeholder("number").fill(number)
    form.get_by_placeholder("exp_month").fill("12")
    form.get_by_placeholder("exp_year").fill("34")
    form.get_by_placeholder("cvc").fill("123")
    form.get_by_placeholder("postal_code").fill("10027")
    form.get_by_role("button", name="Pay $60").click()


def test_paying_with_a_card_in_the_page_confirms_the_booking(
    page: Any, live_server: LiveServer, shop: Any
) -> None:
    booking_id = held_booking(shop, 3)
    page.goto(f"{live_server.url}/payments/bookings/{booking_id}/pay")
    fill_card(page, "4242424242424242")
    page.get_by_text("Payment received. Your session is booked.").wait_for()
    assert status(booking_id) == ("confirmed", ["succeeded"])


def test_a_declined_card_shows_the_banks_message_and_keeps_the_hold(
    page: Any, live_server: LiveServer, shop: Any
) -> None:
    booking_id = held_booking(shop, 4)
    page.goto(f"{live_server.url}/payments/bookings/{booking_id}/pay")
    fill_card(page, "4000000000000341")
    alert = page.locator('form[data-method="pay_now"] .error')
    alert.wait_for()
    assert "declined" in alert.inner_text().lower()
    assert status(booking_id) == ("held", ["failed"])


def test_a_three_d_secure_card_completes_the_challenge_and_pays(
    page: Any, live_server: LiveServer, shop: Any
) -> None:
    booking_id = held_booking(shop, 5)
    page.goto(f"{live_server.url}/payments/bookings/{booking_id}/pay")
    fill_card(page, "4000002500003155")
    # localstripe's 3-D Secure box, once when the card is saved and once for the payment.
    page.get_by_role("button", name="Complete authentication").click()
    page.get_by_role("button", name="Complete authentication").click()
    page.get_by_text("Payment received. Your session is booked.").wait_for()
    assert status(booking_id) == ("confirmed", ["succeeded"])
