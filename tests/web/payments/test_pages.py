"""Payment pages: pay page, ledger with reasons for both parties, receipts, superbills, earnings."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from teletherapy.clock import utcnow
from teletherapy.extensions import db
from teletherapy.models import Booking, Payment, TherapistPaymentSettings, TherapistProfile
from teletherapy.services import payments
from tests.payment_fakes import FakeGateway, accept, add_booking, cancel

STRIPE_KEYS = {"STRIPE_SECRET_KEY": "sk_test_pages", "STRIPE_PUBLISHABLE_KEY": "pk_test_pages"}


@pytest.fixture
def gateway(app: Flask) -> FakeGateway:
    app.config.update(STRIPE_KEYS)
    fake = FakeGateway(card_behaviour={"pm_ok": "ok", "pm_no": "decline", "pm_3ds": "authenticate"})
    app.extensions["gateways"].payments = fake
    return fake


@pytest.fixture
def people(make_user: Any) -> tuple[Any, Any]:
    therapist = make_user("therapist", display_name="Ana Reyes")
    client = make_user("client", display_name="Sam Client")
    return therapist, client


def held(people: Any) -> Booking:
    now = utcnow()
    return add_booking(people[0], people[1], start=now + timedelta(days=3), now=now)


def booking_status(booking_id: int) -> str:
    db.session.rollback()
    booking = db.session.get(Booking, booking_id)
    assert booking is not None
    return booking.status


def paid_and_cancelled(people: Any, gateway: FakeGateway) -> Booking:
    """A pay-now booking cancelled late: $25 fee kept, $35 refunded."""
    now = utcnow()
    accept(people[0], "pay_now", late_fee_cents=2500, waive_first=False)
    booking = held(people)
    payments.submit_card(
        client=people[1],
        booking_id=booking.id,
        method="pay_now",
        payment_method_id="pm_ok",
        gateway=gateway,
        now=now,
    )
    cancel(booking, by="client", late=True, now=now)
    return booking


def test_clients_and_therapists_have_a_payments_link(
    login: Any, make_user: Any, client: FlaskClient
) -> None:
    login(make_user("client"))
    assert 'href="/payments/"' in client.get("/account").get_data(as_text=True)
    assert client.get("/payments/").status_code == 200


def test_anonymous_visitors_are_sent_to_sign_in(client: FlaskClient) -> None:
    for path in ("/payments/", "/payments/earnings", "/payments/bookings/1/pay"):
        response = client.get(path)
        assert response.status_code == 302 and "/sign-in" in response.headers["Location"]


def test_without_stripe_the_pay_page_offers_only_payment_at_the_session(
    login: Any, client: FlaskClient, people: Any
) -> None:
    booking = held(people)
    login(people[1])
    page = client.get(f"/payments/bookings/{booking.id}/pay").get_data(as_text=True)
    assert "Pay at the session" in page
    assert "js.stripe.com" not in page and "card-form" not in page
    response = client.post(f"/payments/bookings/{booking.id}/pay-at-session")
    assert response.status_code == 302
    assert booking_status(booking.id) == "confirmed"


def test_the_pay_page_loads_stripe_js_from_stripe_or_from_the_emulator(
    app: Flask, login: Any, client: FlaskClient, people: Any, gateway: FakeGateway
) -> None:
    accept(people[0], "pay_now", "card_on_file")
    booking = held(people)
    login(people[1])
    page = client.get(f"/payments/bookings/{booking.id}/pay").get_data(as_text=True)
    assert '<script src="https://js.stripe.com/v3/"></script>' in page
    assert 'data-publishable-key="pk_test_pages"' in page
    assert 'data-method="pay_now"' in page and 'data-method="card_on_file"' in page
    app.config["STRIPE_API_BASE"] = "http://127.0.0.1:8420"
    page = client.get(f"/payments/bookings/{booking.id}/pay").get_data(as_text=True)
    assert '<script src="http://127.0.0.1:8420/js.stripe.com/v3/"></script>' in page


def test_another_clients_pay_page_is_not_found(
    login: Any, client: FlaskClient, people: Any, make_user: Any
) -> None:
    booking = held(people)
    login(make_user("client"))
    assert client.get(f"/payments/bookings/{booking.id}/pay").status_code == 404
    assert client.post(f"/payments/bookings/{booking.id}/pay-at-session").status_code == 404
    assert booking_status(booking.id) == "held"


def test_the_card_steps_answer_json_for_the_page_script(
    login: Any, client: FlaskClient, people: Any, gateway: FakeGateway
) -> None:
    accept(people[0], "pay_now")
    booking = held(people)
    login(people[1])
    base = f"/payments/bookings/{booking.id}"
    setup = client.post(f"{base}/setup-intent", json={"method": "pay_now"})
    assert setup.status_code == 200 and setup.get_json()["client_secret"].startswith("seti_")
    declined = client.post(f"{base}/card", json={"method": "pay_now", "payment_method_id": "pm_no"})
    assert declined.get_json()["status"] == "declined"
    assert declined.get_json()["message"] == "Your card was declined."
    challenge = client.post(
        f"{base}/card", json={"method": "pay_now", "payment_method_id": "pm_3ds"}
    ).get_json()
    assert challenge["status"] == "requires_action" and challenge["client_secret"]
    assert booking_status(booking.id) == "held"
    intent_id = challenge["client_secret"].split("_secret_")[0]
    gateway.complete_authentication(intent_id)
    verified = client.post(f"{base}/verify").get_json()
    assert verified["status"] == "succeeded" and verified["booking_status"] == "confirmed"


def test_card_steps_with_bad_input_answer_a_json_error(
    login: Any, client: FlaskClient, people: Any, gateway: FakeGateway
) -> None:
    accept(people[0], "pay_now")
    booking = held(people)
    login(people[1])
    response = client.post(
        f"/payments/bookings/{booking.id}/card", json={"method": "cash", "payment_method_id": "x"}
    )
    assert response.status_code == 422 and response.get_json()["status"] == "error"
    assert client.post("/payments/bookings/999/setup-intent", json={}).status_code == 404


def test_both_parties_see_the_refund_and_the_fee_with_their_reasons(
    login: Any, client: FlaskClient, people: Any, gateway: FakeGateway
) -> None:
    paid_and_cancelled(people, gateway)
    for person, other_party in ((people[1], "Ana Reyes"), (people[0], "Sam Client")):
        login(person)
        page = client.get("/payments/").get_data(as_text=True)
        assert "Late cancellation (inside 24 h): $25 fee" in page
        assert "Refund" in page and "$35" in page and other_party in page
        client.post("/sign-out")


def test_a_receipt_is_shown_to_the_parties_only(
    login: Any, client: FlaskClient, people: Any, gateway: FakeGateway, make_user: Any
) -> None:
    booking = paid_and_cancelled(people, gateway)
    charge = db.session.scalars(
        select(Payment).where(Payment.booking_id == booking.id, Payment.kind == "charge")
    ).one()
    login(people[1])
    page = client.get(f"/payments/{charge.id}/receipt").get_data(as_text=True)
    assert f"Receipt #{charge.id}" in page and "$60" in page and "Ana Reyes" in page
    client.post("/sign-out")
    login(make_user("client"))
    assert client.get(f"/payments/{charge.id}/receipt").status_code == 404


def test_a_therapist_waives_a_fee_for_hardship_in_one_click(
    login: Any, client: FlaskClient, people: Any, gateway: FakeGateway
) -> None:
    booking = paid_and_cancelled(people, gateway)
    login(people[0])
    assert "Waive for hardship" in client.get("/payments/").get_data(as_text=True)
    assert client.post(f"/payments/bookings/{booking.id}/waive").status_code == 302
    page = client.get("/payments/").get_data(as_text=True)
    assert "fee waived for hardship" in page


def test_a_therapist_marks_a_session_paid_at_the_session(
    login: Any, client: FlaskClient, people: Any
) -> None:
    now = utcnow()
    booking = add_booking(
        people[0], people[1], start=now - timedelta(hours=3), status="confirmed", now=now
    )
    login(people[0])
    assert "Mark paid" in client.get("/payments/").get_data(as_text=True)
    assert client.post(f"/payments/bookings/{booking.id}/mark-paid").status_code == 302
    assert "Paid at the session" in client.get("/payments/").get_data(as_text=True)


def superbill_setup(people: Any) -> Booking:
    now = utcnow()
    profile = db.session.get(TherapistProfile, people[0].therapist_id)
    assert profile is not None
    profile.license_type, profile.license_number = "LMHC", "NY-0042"
    profile.license_state, profile.npi = "NY", "1987654321"
    db.session.commit()
    booking = add_booking(
        people[0], people[1], start=now - timedelta(hours=3), status="confirmed", now=now
    )
    payments.mark_paid_at_session(therapist=people[0], booking_id=booking.id, now=now)
    return booking


def test_the_superbill_page_shows_licence_npi_cpt_and_amounts(
    login: Any, client: FlaskClient, people: Any
) -> None:
    booking = superbill_setup(people)
    login(people[1])
    page = client.get(f"/payments/superbill?booking={booking.id}").get_data(as_text=True)
    for text in ("Ana Reyes", "LMHC", "NY-0042", "1987654321", "90834", "$60"):
        assert text in page
    month = booking.start_at.astimezone().strftime("%Y-%m")
    assert "90834" in client.get(f"/payments/superbill?month={month}").get_data(as_text=True)
    assert client.get("/payments/superbill?month=soon").status_code == 422


def test_the_superbill_downloads_as_a_pdf(login: Any, client: FlaskClient, people: Any) -> None:
    booking = superbill_setup(people)
    login(people[1])
    response = client.get(f"/payments/superbill.pdf?booking={booking.id}")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF-")
    assert "attachment" in response.headers["Content-Disposition"]


def test_a_therapist_opens_superbills_of_their_own_sessions_only(
    login: Any, client: FlaskClient, people: Any, make_user: Any
) -> None:
    booking = superbill_setup(people)
    login(people[0])
    page = client.get(f"/payments/superbill?booking={booking.id}")
    assert page.status_code == 200 and "90834" in page.get_data(as_text=True)
    pdf = client.get(f"/payments/superbill.pdf?booking={booking.id}")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF-")
    assert client.get("/payments/superbill?month=2026-12").status_code == 422  # a session only
    client.post("/sign-out")
    login(make_user("therapist"))
    assert client.get(f"/payments/superbill?booking={booking.id}").status_code == 404


def test_the_earnings_page_shows_bands_refunds_and_fees(
    login: Any, client: FlaskClient, people: Any, gateway: FakeGateway
) -> None:
    paid_and_cancelled(people, gateway)
    payments.execute_pending(gateway=gateway, now=utcnow())
    login(people[0])
    page = client.get("/payments/earnings").get_data(as_text=True)
    assert "<td>b</td>" in page
    assert "$60" in page and "$35" in page and "$25" in page
    login_client = client.post("/sign-out")
    assert login_client.status_code == 302


def test_therapist_payment_settings_are_saved_or_explained(
    login: Any, client: FlaskClient, people: Any
) -> None:
    login(people[0])
    assert "Ways to pay you accept" in client.get("/payments/settings").get_data(as_text=True)
    refused = client.post("/payments/settings", data={"late_cancel_fee": "20"})
    assert refused.status_code == 422
    assert "Accept at least one way to pay." in refused.get_data(as_text=True)
    saved = client.post(
        "/payments/settings",
        data={"accepts_card_on_file": "y", "late_cancel_fee": "37.50"},
    )
    assert saved.status_code == 302
    db.session.rollback()
    row = db.session.get(TherapistPaymentSettings, people[0].therapist_id)
    assert row is not None
    assert (row.accepts_card_on_file, row.accepts_pay_at_session) == (True, False)
    assert (row.late_cancel_fee_cents, row.waive_first_late_cancel) == (3750, False)


def test_the_reasons_are_shown_in_the_reader_s_language(
    login: Any, client: FlaskClient, people: Any, gateway: FakeGateway
) -> None:
    paid_and_cancelled(people, gateway)
    people[1].language = "es"
    db.session.commit()
    login(people[1])
    page = client.get("/payments/").get_data(as_text=True)
    assert "Cancelación tardía (con menos de 24 h): cargo de $25" in page
    assert "Late cancellation" not in page
