"""Signed webhook bodies that are not plausible Stripe events are a 400 with nothing stored."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import stripe
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from teletherapy.extensions import db
from teletherapy.models import StripeEvent
from tests.payment_fakes import FakeGateway, sign, stripe_event

URL = "/webhooks/stripe"


@pytest.fixture(autouse=True)
def gateway(app: Flask) -> FakeGateway:
    fake = FakeGateway()
    app.extensions["gateways"].payments = fake
    return fake


def post(client: FlaskClient, body: bytes, **sign_kwargs: Any) -> Any:
    return client.post(
        URL,
        data=body,
        headers={"Content-Type": "application/json", "Stripe-Signature": sign(body, **sign_kwargs)},
    )


def stored() -> int:
    db.session.rollback()
    return int(db.session.scalar(select(func.count(StripeEvent.id))) or 0)


@pytest.mark.parametrize(
    "body",
    [b"[]", b'"evt_1"', b"42", b"null", b'{"id": "evt_1", "type": "x"}', b"{" * 5000, b"\xff"],
)
def test_a_signed_body_that_is_not_an_event_object_is_a_400(
    client: FlaskClient, body: bytes
) -> None:
    assert post(client, body).status_code == 400
    assert stored() == 0


@pytest.mark.parametrize("event_id", ["1", "evt_", "ch_123", "evt_" + "x" * 300, "evt_a b", 7])
def test_an_implausible_event_id_is_a_400(client: FlaskClient, event_id: Any) -> None:
    body = json.loads(stripe_event("payment_intent.succeeded", {"id": "pi_1"}))
    body["id"] = event_id
    assert post(client, json.dumps(body).encode()).status_code == 400
    assert stored() == 0


def test_a_signature_dated_in_the_future_is_a_400(client: FlaskClient) -> None:
    body = stripe_event("payment_intent.succeeded", {"id": "pi_1"})
    response = post(client, body, timestamp=int(time.time()) + 3600)
    assert response.status_code == 400
    assert "future" in response.get_json()["error"]


def test_a_signature_a_little_ahead_is_accepted(client: FlaskClient) -> None:
    body = stripe_event("payment_intent.succeeded", {"id": "pi_1"})
    assert post(client, body, timestamp=int(time.time()) + 5).status_code == 200


def test_an_event_of_another_api_version_is_a_400(client: FlaskClient) -> None:
    body = json.loads(stripe_event("payment_intent.succeeded", {"id": "pi_1"}))
    body["api_version"] = "2015-01-01"
    response = post(client, json.dumps(body).encode())
    assert response.status_code == 400
    assert "API version" in response.get_json()["error"]


def test_an_event_of_our_api_version_is_accepted(client: FlaskClient) -> None:
    body = json.loads(stripe_event("payment_intent.succeeded", {"id": "pi_1"}))
    body["api_version"] = stripe.api_version
    assert post(client, json.dumps(body).encode()).status_code == 200
    assert stored() == 1


def test_a_created_time_that_is_not_a_timestamp_is_a_400(client: FlaskClient) -> None:
    body = json.loads(stripe_event("payment_intent.succeeded", {"id": "pi_1"}))
    body["created"] = 10**30
    assert post(client, json.dumps(body).encode()).status_code == 400


def test_an_emulator_may_stamp_its_own_api_version_but_stripe_may_not() -> None:
    from teletherapy.gateways.payments import InvalidWebhook, StripeGateway, event_from_payload

    body = json.loads(stripe_event("payment_intent.succeeded", {"id": "pi_1"}))
    body["api_version"] = "2017-08-15"  # what localstripe stamps
    emulator = StripeGateway("sk_test_x", api_base="http://127.0.0.1:1", webhook_secret="s")
    assert emulator._api_versions is None
    assert event_from_payload(body, api_versions=emulator._api_versions).id == body["id"]
    stripe_itself = StripeGateway("sk_test_x", webhook_secret="s")
    with pytest.raises(InvalidWebhook):
        event_from_payload(body, api_versions=stripe_itself._api_versions)
