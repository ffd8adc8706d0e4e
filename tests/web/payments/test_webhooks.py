"""POST /webhooks/stripe: replayed, reordered and forged events.

Replays are processed once, reordered events end in the state of their effect
(the domain's payment lattice), forged ones are a 400 with nothing written.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from teletherapy.clock import utcnow
from teletherapy.extensions import db
from teletherapy.models import Booking, OutboxMessage, Payment, StripeEvent
from teletherapy.services import payments
from tests.payment_fakes import (
    FakeGateway,
    accept,
    add_booking,
    charge_object,
    intent_object,
    sign,
    stripe_event,
)

URL = "/webhooks/stripe"


@pytest.fixture
def gateway(app: Flask) -> FakeGateway:
    fake = FakeGateway(card_behaviour={"pm_3ds": "authenticate", "pm_ok": "ok"})
    app.extensions["gateways"].payments = fake
    return fake


@pytest.fixture
def pending(make_user: Any, gateway: FakeGateway) -> tuple[Booking, Payment]:
    """A held booking whose payment waits for 3-D Secure (the bank answers by webhook)."""
    now = utcnow()
    therapist, client = make_user("therapist"), make_user("client")
    accept(therapist, "pay_now")
    booking = add_booking(therapist, client, start=now + timedelta(days=3), now=now)
    outcome = payments.submit_card(
        client=client,
        booking_id=booking.id,
        method="pay_now",
        payment_method_id="pm_3ds",
        gateway=gateway,
        now=now,
    )
    assert outcome.status == "requires_action"
    line = db.session.scalars(select(Payment)).one()
    return booking, line


def post(client: FlaskClient, body: bytes, signature: str | None = None) -> Any:
    headers = {"Content-Type": "application/json"}
    if signature != "":
        headers["Stripe-Signature"] = signature or sign(body)
    return client.post(URL, data=body, headers=headers)


def state(booking_id: int) -> tuple[str, str, int]:
    db.session.rollback()
    booking = db.session.get(Booking, booking_id)
    line = db.session.scalars(select(Payment).where(Payment.kind == "charge")).one()
    events = db.session.scalar(select(func.count(StripeEvent.id)))
    assert booking is not None
    return booking.status, line.status, int(events or 0)


def succeeded(line: Payment, booking: Booking, **kw: Any) -> bytes:
    assert line.stripe_payment_intent_id is not None
    return stripe_event(
        "payment_intent.succeeded",
        intent_object(line.stripe_payment_intent_id, line.amount_cents, booking.id),
        **kw,
    )


def test_a_verified_success_event_confirms_the_held_booking(
    client: FlaskClient, pending: Any
) -> None:
    booking, line = pending
    response = post(client, succeeded(line, booking))
    assert response.status_code == 200
    assert response.get_json() == {"received": True, "outcome": "processed"}
    assert state(booking.id) == ("confirmed", "succeeded", 1)


def test_a_replayed_event_is_processed_once(client: FlaskClient, pending: Any) -> None:
    booking, line = pending
    body = succeeded(line, booking)
    assert post(client, body).get_json()["outcome"] == "processed"
    replay = post(client, body)
    assert replay.status_code == 200 and replay.get_json()["outcome"] == "duplicate"
    assert state(booking.id) == ("confirmed", "succeeded", 1)
    confirmations = db.session.scalar(
        select(func.count(OutboxMessage.id)).where(OutboxMessage.kind == "booking_confirmed")
    )
    assert confirmations == 2  # one for each party, not two each


def test_a_late_failure_event_does_not_undo_a_success(client: FlaskClient, pending: Any) -> None:
    booking, line = pending
    failed = stripe_event(
        "payment_intent.payment_failed",
        intent_object(line.stripe_payment_intent_id, line.amount_cents, booking.id),
        created=int(time.time()) - 60,
    )
    post(client, succeeded(line, booking))
    assert post(client, failed).get_json()["outcome"] == "processed"
    assert state(booking.id) == ("confirmed", "succeeded", 2)


def test_a_refund_that_overtakes_its_payment_leaves_it_refunded(
    client: FlaskClient, pending: Any
) -> None:
    booking, line = pending
    assert line.stripe_payment_intent_id is not None
    partial = stripe_event(
        "charge.refunded",
        charge_object(line.stripe_payment_intent_id, 6000, booking.id, amount_refunded=2000),
    )
    full = stripe_event(
        "charge.refunded",
        charge_object(line.stripe_payment_intent_id, 6000, booking.id, amount_refunded=6000),
    )
    post(client, full)
    post(client, partial)
    post(client, succeeded(line, booking))
    # The money came and went: the booking was never confirmed by it.
    assert state(booking.id) == ("held", "refunded", 3)


def test_partial_then_full_refund_events_move_only_upwards(
    client: FlaskClient, pending: Any
) -> None:
    booking, line = pending
    assert line.stripe_payment_intent_id is not None
    post(client, succeeded(line, booking))
    partial = charge_object(line.stripe_payment_intent_id, 6000, booking.id, amount_refunded=2000)
    post(client, stripe_event("charge.refunded", partial))
    assert state(booking.id)[1] == "partially_refunded"
    full = charge_object(line.stripe_payment_intent_id, 6000, booking.id, amount_refunded=6000)
    post(client, stripe_event("charge.refunded", full))
    assert state(booking.id)[1] == "refunded"


@pytest.mark.parametrize(
    "forge",
    [
        "wrong_secret",
        "tampered_body",
        "missing_header",
        "stale_timestamp",
        "garbage_header",
        "signed_garbage",
    ],
)
def test_a_forged_event_is_rejected_and_changes_nothing(
    client: FlaskClient, pending: Any, forge: str
) -> None:
    booking, line = pending
    body = succeeded(line, booking)
    signature: str | None = sign(body)
    if forge == "wrong_secret":
        signature = sign(body, secret="whsec_attacker")
    elif forge == "tampered_body":
        body = body.replace(b'"amount": 6000', b'"amount": 1')
    elif forge == "missing_header":
        signature = ""
    elif forge == "stale_timestamp":
        signature = sign(body, timestamp=int(time.time()) - 3600)
    elif forge == "garbage_header":
        signature = "nonsense"
    elif forge == "signed_garbage":
        body = b"not json at all"
        signature = sign(body)
    response = post(client, body, signature)
    assert response.status_code == 400
    assert state(booking.id) == ("held", "pending", 0)


def test_events_we_do_not_use_are_acknowledged_and_stored_once(
    client: FlaskClient, pending: Any
) -> None:
    booking, _ = pending
    body = stripe_event("customer.created", {"id": "cus_123", "object": "customer"})
    assert post(client, body).get_json()["outcome"] == "ignored"
    assert post(client, body).get_json()["outcome"] == "duplicate"
    assert state(booking.id) == ("held", "pending", 1)


def test_an_event_for_an_unknown_payment_changes_nothing(client: FlaskClient, pending: Any) -> None:
    booking, _ = pending
    body = stripe_event("payment_intent.succeeded", intent_object("pi_other", 6000, 999))
    response = post(client, body)
    assert response.status_code == 200 and response.get_json()["outcome"] == "ignored"
    assert state(booking.id) == ("held", "pending", 1)


def test_an_event_whose_amount_differs_from_the_ledger_is_ignored(
    client: FlaskClient, pending: Any
) -> None:
    booking, line = pending
    body = stripe_event(
        "payment_intent.succeeded",
        intent_object(line.stripe_payment_intent_id, 100, booking.id),
    )
    assert post(client, body).get_json()["outcome"] == "ignored"
    assert state(booking.id) == ("held", "pending", 1)


def test_an_event_that_overtakes_our_record_of_the_intent_finds_it_by_booking(
    client: FlaskClient, pending: Any
) -> None:
    booking, line = pending
    intent_id = line.stripe_payment_intent_id
    line.stripe_payment_intent_id = None  # as if Stripe's answer had not been recorded yet
    db.session.commit()
    body = stripe_event("payment_intent.succeeded", intent_object(intent_id, 6000, booking.id))
    assert post(client, body).get_json()["outcome"] == "processed"
    assert state(booking.id) == ("confirmed", "succeeded", 1)
    db.session.rollback()
    assert db.session.scalars(select(Payment)).one().stripe_payment_intent_id == intent_id


def test_the_webhook_needs_no_csrf_token_or_session(
    app: Flask, client: FlaskClient, pending: Any
) -> None:
    app.config["WTF_CSRF_ENABLED"] = True
    booking, line = pending
    assert post(client, succeeded(line, booking)).status_code == 200
    assert client.post("/payments/settings", data={}).status_code == 400  # pages still need it


def test_without_stripe_configured_the_webhook_is_not_found(client: FlaskClient) -> None:
    body = json.dumps({"id": "evt_1"}).encode()
    response = client.post(URL, data=body, headers={"Stripe-Signature": sign(body)})
    assert response.status_code == 404


def test_the_same_event_delivered_at_once_by_many_connections_is_processed_once(
    app: Flask, pending: Any
) -> None:
    booking, line = pending
    body = succeeded(line, booking)
    signature = sign(body)
    db.session.rollback()  # SQLite: hold no lock while the threads write
    barrier = threading.Barrier(6)
    outcomes: list[str] = []

    def deliver() -> None:
        client = app.test_client()
        barrier.wait()
        response = client.post(
            URL, data=body, headers={"Stripe-Signature": signature, "Content-Type": "x"}
        )
        outcomes.append(f"{response.status_code} {response.get_json()['outcome']}")

    threads = [threading.Thread(target=deliver) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["200 duplicate"] * 5 + ["200 processed"]
    assert state(booking.id) == ("confirmed", "succeeded", 1)
    confirmations = db.session.scalar(
        select(func.count(OutboxMessage.id)).where(OutboxMessage.kind == "booking_confirmed")
    )
    assert confirmations == 2
