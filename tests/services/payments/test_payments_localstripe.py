"""Payment use cases against a real localstripe, with webhooks localstripe itself sends.

The app runs in a werkzeug server on 127.0.0.1 registered with localstripe's
/_config/webhooks; what localstripe cannot do is covered in test_payments.py.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import stripe
from flask import Flask
from sqlalchemy import select

from teletherapy.clock import utcnow
from teletherapy.extensions import db
from teletherapy.gateways.payments import PaymentGateway
from teletherapy.jobs import tasks
from teletherapy.models import Booking, OutboxMessage, Payment, StripeEvent
from teletherapy.services import payments
from tests.localstripe import (
    PUBLISHABLE_KEY,
    LiveServer,
    register_webhook,
    stripe_settings,
)
from tests.payment_fakes import accept, add_booking, cancel

pytestmark = pytest.mark.peer

VISA = "4242424242424242"
DECLINED_ON_CHARGE = "4000000000000341"
THREE_D_SECURE = "4000002500003155"


@pytest.fixture
def app_config(localstripe_url: str) -> dict[str, Any]:
    return stripe_settings(localstripe_url)


@pytest.fixture
def gateway(app: Flask, localstripe_url: str, live_server: LiveServer) -> PaymentGateway:
    register_webhook(localstripe_url, "teletherapy-app", f"{live_server.url}/webhooks/stripe")
    found = payments.current_gateway()
    assert found is not None
    return found


@pytest.fixture
def people(make_user: Any) -> tuple[Any, Any]:
    return make_user("therapist"), make_user("client")


def confirm_card_setup(stripe_client: stripe.StripeClient, setup_id: str, number: str) -> str:
    """What Stripe.js's confirmCardSetup does with the card element (3-D Secure passed)."""
    method = stripe_client.v1.payment_methods.create(
        {
            "type": "card",
            "card": {"number": number, "exp_month": 12, "exp_year": 2034, "cvc": "123"},
        }
    )
    intent = stripe_client.v1.setup_intents.confirm(setup_id, {"payment_method": str(method.id)})
    if intent.status == "requires_action":  # "Complete authentication" in the 3-D Secure box
        intent = stripe_client.v1.setup_intents.confirm(setup_id)
    assert intent.status == "succeeded"
    return str(intent.payment_method)


def authenticate_in_page(localstripe_url: str, intent_id: str, secret: str) -> None:
    """What localstripe's confirmCardPayment sends after "Complete authentication"."""
    url = f"{localstripe_url}/v1/payment_intents/{intent_id}/_authenticate?success=true"
    body = json.dumps({"key": PUBLISHABLE_KEY, "client_secret": secret}).encode()
    with urllib.request.urlopen(url, data=body, timeout=10) as response:
        assert response.status == 200


def wait_for(check: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = check()
        # Never hold a transaction while the server thread writes (SQLite: BEGIN IMMEDIATE).
        db.session.rollback()
        if done:
            return
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}")


def event_processed(event_type: str) -> Callable[[], bool]:
    return lambda: (
        db.session.scalar(
            select(StripeEvent.id).where(
                StripeEvent.type == event_type, StripeEvent.processed_at.is_not(None)
            )
        )
        is not None
    )


def booking_status(booking_id: int) -> str:
    db.session.rollback()
    booking = db.session.get(Booking, booking_id)
    assert booking is not None
    status = booking.status
    db.session.rollback()
    return status


def ledger(booking_id: int, kind: str) -> list[Payment]:
    db.session.rollback()
    return list(
        db.session.scalars(
            select(Payment)
            .where(Payment.booking_id == booking_id, Payment.kind == kind)
            .order_by(Payment.id)
        )
    )


def saved_card_for(
    people: Any, gateway: PaymentGateway, stripe_client: Any, method: str, number: str
) -> tuple[Booking, str]:
    therapist, client = people
    accept(therapist, method, late_fee_cents=3000, waive_first=False)
    now = utcnow()
    booking = add_booking(therapist, client, start=now + timedelta(days=2), now=now)
    setup = payments.start_card_setup(
        client=client, booking_id=booking.id, method=method, gateway=gateway, now=now
    )
    return booking, confirm_card_setup(stripe_client, setup.id, number)


def submit(people: Any, gateway: PaymentGateway, booking: Booking, method: str, card: str) -> Any:
    return payments.submit_card(
        client=people[1],
        booking_id=booking.id,
        method=method,
        payment_method_id=card,
        gateway=gateway,
        now=utcnow(),
    )


def test_a_held_booking_paid_with_a_saved_card_is_confirmed_and_its_webhook_is_processed(
    people: Any, gateway: PaymentGateway, stripe_client: Any
) -> None:
    booking, card = saved_card_for(people, gateway, stripe_client, "pay_now", VISA)
    outcome = submit(people, gateway, booking, "pay_now", card)
    assert outcome.status == "succeeded"
    assert booking_status(booking.id) == "confirmed"
    wait_for(event_processed("payment_intent.succeeded"), "payment_intent.succeeded")
    [charge] = ledger(booking.id, "charge")
    assert charge.status == "succeeded"
    intent = stripe_client.v1.payment_intents.retrieve(charge.stripe_payment_intent_id)
    assert intent.metadata.to_dict() == {"booking_id": str(booking.id)}
    assert intent.amount == 6000


def test_three_d_secure_payment_is_confirmed_by_the_webhook_localstripe_sends(
    people: Any, gateway: PaymentGateway, stripe_client: Any, localstripe_url: str
) -> None:
    booking, card = saved_card_for(people, gateway, stripe_client, "pay_now", THREE_D_SECURE)
    outcome = submit(people, gateway, booking, "pay_now", card)
    assert outcome.status == "requires_action" and outcome.client_secret
    assert booking_status(booking.id) == "held"
    [charge] = ledger(booking.id, "charge")
    assert charge.stripe_payment_intent_id is not None
    authenticate_in_page(localstripe_url, charge.stripe_payment_intent_id, outcome.client_secret)
    # Nobody calls verify: localstripe's signed payment_intent.succeeded confirms it.
    wait_for(lambda: booking_status(booking.id) == "confirmed", "the webhook to confirm")
    assert ledger(booking.id, "charge")[0].status == "succeeded"


def test_a_declined_card_leaves_the_booking_held_through_the_failure_webhook(
    people: Any, gateway: PaymentGateway, stripe_client: Any
) -> None:
    booking, card = saved_card_for(people, gateway, stripe_client, "pay_now", DECLINED_ON_CHARGE)
    outcome = submit(people, gateway, booking, "pay_now", card)
    assert outcome.status == "declined" and "declined" in outcome.message.lower()
    wait_for(event_processed("payment_intent.payment_failed"), "payment_intent.payment_failed")
    assert booking_status(booking.id) == "held"
    assert [line.status for line in ledger(booking.id, "charge")] == ["failed"]


def test_cancelling_early_is_refunded_in_full_by_the_sweep(
    app: Flask, people: Any, gateway: PaymentGateway, stripe_client: Any
) -> None:
    booking, card = saved_card_for(people, gateway, stripe_client, "pay_now", VISA)
    assert submit(people, gateway, booking, "pay_now", card).status == "succeeded"
    db.session.rollback()
    booking = db.session.get(Booking, booking.id)
    assert booking is not None
    cancel(booking, by="client", late=False, now=utcnow())
    db.session.rollback()
    tasks.sweep_payments(app)  # the dispatcher's job, with the app's own Stripe settings
    [refund] = ledger(booking.id, "refund")
    assert refund.status == "succeeded" and refund.stripe_refund_id
    stored = stripe_client.v1.refunds.retrieve(refund.stripe_refund_id)
    assert stored.amount == 6000 and stored.payment_intent == refund.stripe_payment_intent_id
    assert stored.metadata.to_dict() == {"reason": "client_cancelled"}
    assert ledger(booking.id, "charge")[0].status == "refunded"


def test_a_card_on_file_is_charged_off_session_after_the_session(
    people: Any, gateway: PaymentGateway, stripe_client: Any
) -> None:
    booking, card = saved_card_for(people, gateway, stripe_client, "card_on_file", VISA)
    assert submit(people, gateway, booking, "card_on_file", card).status == "saved"
    assert booking_status(booking.id) == "confirmed"
    after = booking.end_at + timedelta(minutes=5)
    db.session.rollback()
    assert payments.charge_completed_sessions(gateway=gateway, now=after).done == 1
    [charge] = ledger(booking.id, "charge")
    assert charge.status == "succeeded" and charge.idempotency_key == f"pay-{booking.id}"
    intent = stripe_client.v1.payment_intents.retrieve(charge.stripe_payment_intent_id)
    assert intent.status == "succeeded" and intent.amount == 6000


def test_a_bank_wanting_the_client_off_session_sends_a_pay_link(
    people: Any, gateway: PaymentGateway, stripe_client: Any, localstripe_url: str
) -> None:
    booking, card = saved_card_for(people, gateway, stripe_client, "card_on_file", THREE_D_SECURE)
    submit(people, gateway, booking, "card_on_file", card)
    after = booking.end_at + timedelta(minutes=5)
    db.session.rollback()
    assert payments.charge_completed_sessions(gateway=gateway, now=after).needs_client == 1
    db.session.rollback()
    mail = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.kind == "payment_action_required")
    ).one()
    assert f"/payments/bookings/{booking.id}/pay" in mail.body_text
    page = payments.get_pay_page(
        client=people[1], booking_id=booking.id, gateway=gateway, now=after
    )
    assert page.action_client_secret is not None
    [charge] = ledger(booking.id, "charge")
    assert charge.stripe_payment_intent_id is not None
    authenticate_in_page(
        localstripe_url, charge.stripe_payment_intent_id, page.action_client_secret
    )
    outcome = payments.verify_payment(
        client=people[1], booking_id=booking.id, gateway=gateway, now=after
    )
    assert outcome.status == "succeeded"


def test_a_late_cancellation_fee_is_charged_to_the_card_on_file(
    people: Any, gateway: PaymentGateway, stripe_client: Any
) -> None:
    booking, card = saved_card_for(people, gateway, stripe_client, "card_on_file", VISA)
    submit(people, gateway, booking, "card_on_file", card)
    db.session.rollback()
    booking = db.session.get(Booking, booking.id)
    assert booking is not None
    cancel(booking, by="client", late=True, now=utcnow())
    db.session.rollback()
    assert payments.execute_pending(gateway=gateway, now=utcnow()).done == 1
    [fee] = ledger(booking.id, "late_fee")
    assert fee.status == "succeeded" and fee.idempotency_key == f"late-fee-{booking.id}"
    intent = stripe_client.v1.payment_intents.retrieve(fee.stripe_payment_intent_id)
    assert intent.amount == 3000 and intent.status == "succeeded"
