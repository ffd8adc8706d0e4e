"""StripeGateway against a real localstripe on 127.0.0.1, with the real stripe library.

What localstripe 1.15.10 lacks or does differently (each gap is covered by a fake
gateway at the service layer, or noted where a test pins the difference):

- Idempotency keys are ignored: a repeated key creates a second object. The tests
  below check that our keys reach the wire, using a loopback recorder instead.
- No Checkout Sessions, no Prices; no `automatic_payment_methods`, `return_url`,
  `allowed_payment_method_types` or refund `reason` parameters (unknown parameters are
  a 400). stripe 16 pins API version 2026-10-28.endive, where `payment_method_types`
  is gone: the gateway sends `payment_method_types` only when pointed at an emulator.
- 4000000000000002 ("generic decline") is declined only when the card is saved
  (SetupIntent, attach); a PaymentIntent with it succeeds. Charge declines use
  4000000000000341 (and 4000008260003178 / 4000008400001629 after 3-D Secure).
- Off-session charges on an authentication-required card come back as a
  PaymentIntent in `requires_action`, where Stripe raises `authentication_required`
  with the PaymentIntent in `requires_payment_method`; decline errors name the charge
  but not the PaymentIntent. The gateway handles both shapes.
- Every 3-D Secure test card always asks for authentication, even off-session after
  a successful setup (Stripe lets 4000002500003155 through then).
- Webhooks are sent only for some events: payment_intent.succeeded and
  payment_intent.payment_failed, customer.*, invoice.*, ... but no charge.refunded,
  charge.succeeded, setup_intent.*, payment_intent.requires_action / canceled, and
  no event when 3-D Secure authentication fails. Events claim api_version 2017-08-15.
- Refunds are not checked against the amount left to refund.
- Customer.currency is "eur" by default; card country "FR"; nothing depends on it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import stripe

from teletherapy.gateways.payments import (
    FAILED,
    REQUIRES_ACTION,
    SUCCEEDED,
    CardDeclined,
    InvalidWebhook,
    PaymentGatewayError,
    StripeGateway,
    idempotency_key,
)
from tests.gateways.conftest import (
    PUBLISHABLE_KEY,
    SECRET_KEY,
    WEBHOOK_SECRET,
    WebhookReceiver,
)
from tests.peers import free_port

peer = pytest.mark.peer

VISA = "4242424242424242"
DECLINED_ON_CHARGE = "4000000000000341"
DECLINED_ON_SAVE = "4000000000000002"
THREE_D_SECURE = "4000002500003155"
THREE_D_SECURE_2 = "4000000000003220"
ALWAYS_AUTHENTICATE = "4000002760003184"


@pytest.fixture
def gateway(localstripe_url: str) -> StripeGateway:
    return StripeGateway(
        SECRET_KEY, api_base=localstripe_url, webhook_secret=WEBHOOK_SECRET, max_network_retries=0
    )


def card(client: stripe.StripeClient, number: str) -> str:
    """A PaymentMethod as Stripe.js would create it from the card element."""
    method = client.v1.payment_methods.create(
        {
            "type": "card",
            "card": {"number": number, "exp_month": 12, "exp_year": 2034, "cvc": "123"},
        }
    )
    return str(method.id)


def saved_card(
    gateway: StripeGateway, client: stripe.StripeClient, customer_id: str, number: str
) -> str:
    """Save a card through a SetupIntent the way confirmCardSetup does (3-D Secure passed)."""
    setup_id, _secret = gateway.create_setup_intent(customer_id)
    intent = client.v1.setup_intents.confirm(setup_id, {"payment_method": card(client, number)})
    if intent.status == "requires_action":  # the 3-D Secure modal: "Complete authentication"
        intent = client.v1.setup_intents.confirm(setup_id)
    assert intent.status == "succeeded"
    return str(intent.payment_method)


def authenticate_like_stripe_js(base_url: str, intent_id: str, secret: str, success: bool) -> None:
    """What localstripe's confirmCardPayment() sends after its 3-D Secure modal."""
    url = f"{base_url}/v1/payment_intents/{intent_id}/_authenticate?success={str(success).lower()}"
    body = json.dumps({"key": PUBLISHABLE_KEY, "client_secret": secret}).encode()
    with urllib.request.urlopen(url, data=body, timeout=10) as response:
        assert response.status == 200


# --- customers and PaymentIntents ---------------------------------------------------------


@peer
def test_customer_holds_the_client_id_and_nothing_personal(
    gateway: StripeGateway, stripe_client: stripe.StripeClient
) -> None:
    customer_id = gateway.create_customer(7)

    customer = stripe_client.v1.customers.retrieve(customer_id).to_dict()
    assert customer_id.startswith("cus_")
    assert customer["metadata"] == {"client_id": "7"}
    assert customer["name"] is None and customer["email"] is None
    assert customer["description"] is None and customer["phone"] is None


@peer
def test_payment_intent_for_the_page_carries_only_the_booking_id(
    gateway: StripeGateway, stripe_client: stripe.StripeClient
) -> None:
    result = gateway.create_payment_intent(
        booking_id=12,
        amount_cents=4000,
        currency="usd",
        customer_id=None,
        idempotency_key=idempotency_key("pay", 12),
    )

    assert result.id.startswith("pi_")
    assert result.status == "requires_payment_method"
    assert result.client_secret and result.client_secret.startswith(f"{result.id}_secret_")
    assert (result.amount_cents, result.currency, result.booking_id) == (4000, "usd", "12")
    intent = stripe_client.v1.payment_intents.retrieve(result.id).to_dict()
    assert intent["metadata"] == {"booking_id": "12"}
    assert intent["capture_method"] == "automatic"


@peer
def test_card_confirmed_server_side_succeeds(
    gateway: StripeGateway, stripe_client: stripe.StripeClient
) -> None:
    customer_id = gateway.create_customer(8)

    result = gateway.create_payment_intent(
        booking_id=13,
        amount_cents=6500,
        currency="usd",
        customer_id=customer_id,
        idempotency_key=idempotency_key("pay", 13),
        payment_method_id=card(stripe_client, VISA),
    )

    assert result.status == SUCCEEDED and result.is_succeeded
    fetched = gateway.retrieve_payment_intent(result.id)
    assert (fetched.status, fetched.amount_cents, fetched.booking_id) == (SUCCEEDED, 6500, "13")


@peer
def test_stripe_canonical_test_payment_method_succeeds(gateway: StripeGateway) -> None:
    result = gateway.create_payment_intent(
        booking_id=14,
        amount_cents=4000,
        currency="usd",
        customer_id=None,
        idempotency_key="pay-14",
        payment_method_id="pm_card_visa",
    )
    assert result.status == SUCCEEDED


@peer
def test_declined_card_raises_card_declined(
    gateway: StripeGateway, stripe_client: stripe.StripeClient
) -> None:
    with pytest.raises(CardDeclined) as caught:
        gateway.create_payment_intent(
            booking_id=15,
            amount_cents=4000,
            currency="usd",
            customer_id=None,
            idempotency_key="pay-15",
            payment_method_id=card(stripe_client, DECLINED_ON_CHARGE),
        )
    assert caught.value.code == "card_declined"
    assert caught.value.message == "Your card was declined."
    assert caught.value.charge_id and caught.value.charge_id.startswith("ch_")
    assert isinstance(caught.value, PaymentGatewayError)


@peer
def test_localstripe_declines_the_generic_decline_card_only_when_it_is_saved(
    gateway: StripeGateway, stripe_client: stripe.StripeClient
) -> None:
    """Pins a listed gap: on Stripe, 4000000000000002 is declined when charged too."""
    setup_id, _secret = gateway.create_setup_intent(gateway.create_customer(9))
    with pytest.raises(stripe.CardError) as caught:
        stripe_client.v1.setup_intents.confirm(
            setup_id, {"payment_method": card(stripe_client, DECLINED_ON_SAVE)}
        )
    assert caught.value.code == "card_declined"

    charged = gateway.create_payment_intent(
        booking_id=16,
        amount_cents=4000,
        currency="usd",
        customer_id=None,
        idempotency_key="pay-16",
        payment_method_id=card(stripe_client, DECLINED_ON_SAVE),
    )
    assert charged.status == SUCCEEDED


@peer
@pytest.mark.parametrize("number", [THREE_D_SECURE, THREE_D_SECURE_2])
def test_three_d_secure_card_requires_action_then_authenticates(
    gateway: StripeGateway,
    stripe_client: stripe.StripeClient,
    localstripe_url: str,
    number: str,
) -> None:
    result = gateway.create_payment_intent(
        booking_id=17,
        amount_cents=4000,
        currency="usd",
        customer_id=None,
        idempotency_key="pay-17",
        payment_method_id=card(stripe_client, number),
    )
    assert result.status == REQUIRES_ACTION and result.needs_action
    assert result.client_secret

    authenticate_like_stripe_js(localstripe_url, result.id, result.client_secret, success=True)

    assert gateway.retrieve_payment_intent(result.id).status == SUCCEEDED


@peer
def test_failed_three_d_secure_leaves_the_intent_unpaid(
    gateway: StripeGateway, stripe_client: stripe.StripeClient, localstripe_url: str
) -> None:
    result = gateway.create_payment_intent(
        booking_id=18,
        amount_cents=4000,
        currency="usd",
        customer_id=None,
        idempotency_key="pay-18",
        payment_method_id=card(stripe_client, THREE_D_SECURE),
    )
    assert result.client_secret

    authenticate_like_stripe_js(localstripe_url, result.id, result.client_secret, success=False)

    fetched = gateway.retrieve_payment_intent(result.id)
    assert fetched.status == "requires_payment_method"
    assert fetched.failure_code == "payment_intent_authentication_failure"


# --- card on file -------------------------------------------------------------------------


@peer
def test_setup_intent_then_off_session_charge_succeeds(
    gateway: StripeGateway, stripe_client: stripe.StripeClient
) -> None:
    customer_id = gateway.create_customer(10)
    setup = gateway.create_setup_intent(customer_id)
    assert setup.id.startswith("seti_")
    assert setup.client_secret.startswith(f"{setup.id}_secret_")
    method_id = saved_card(gateway, stripe_client, customer_id, VISA)

    result = gateway.charge_off_session(
        booking_id=20,
        amount_cents=5500,
        customer_id=customer_id,
        payment_method_id=method_id,
        idempotency_key=idempotency_key("pay", 20),
    )

    assert (result.status, result.amount_cents, result.booking_id) == (SUCCEEDED, 5500, "20")
    intent = stripe_client.v1.payment_intents.retrieve(result.id).to_dict()
    assert intent["metadata"] == {"booking_id": "20"}
    assert intent["customer"] == customer_id


@peer
def test_off_session_charge_needing_authentication_returns_requires_action(
    gateway: StripeGateway, stripe_client: stripe.StripeClient, localstripe_url: str
) -> None:
    customer_id = gateway.create_customer(11)
    method_id = saved_card(gateway, stripe_client, customer_id, ALWAYS_AUTHENTICATE)

    result = gateway.charge_off_session(
        booking_id=21,
        amount_cents=4000,
        customer_id=customer_id,
        payment_method_id=method_id,
        idempotency_key=idempotency_key("late-fee", 21),
    )

    assert result.status == REQUIRES_ACTION
    assert result.id.startswith("pi_") and result.client_secret
    # The emailed link lets the client pay on-session: here, as confirmCardPayment does.
    authenticate_like_stripe_js(localstripe_url, result.id, result.client_secret, success=True)
    assert gateway.retrieve_payment_intent(result.id).status == SUCCEEDED


@peer
def test_off_session_decline_returns_failed_instead_of_raising(
    gateway: StripeGateway, stripe_client: stripe.StripeClient
) -> None:
    customer_id = gateway.create_customer(12)
    method_id = saved_card(gateway, stripe_client, customer_id, DECLINED_ON_CHARGE)

    result = gateway.charge_off_session(
        booking_id=22,
        amount_cents=4000,
        customer_id=customer_id,
        payment_method_id=method_id,
        idempotency_key="pay-22",
    )

    assert result.status == FAILED
    assert result.failure_code == "card_declined"
    assert result.id.startswith("pi_") and result.booking_id == "22"
    assert gateway.retrieve_payment_intent(result.id).status == "requires_payment_method"


# --- refunds ------------------------------------------------------------------------------


def _paid(gateway: StripeGateway, booking_id: int, amount_cents: int) -> str:
    result = gateway.create_payment_intent(
        booking_id=booking_id,
        amount_cents=amount_cents,
        currency="usd",
        customer_id=None,
        idempotency_key=idempotency_key("pay", booking_id),
        payment_method_id="pm_card_visa",
    )
    assert result.status == SUCCEEDED
    return result.id


@peer
def test_full_refund(gateway: StripeGateway, stripe_client: stripe.StripeClient) -> None:
    intent_id = _paid(gateway, 30, 8000)

    refund = gateway.refund(
        payment_intent_id=intent_id,
        amount_cents=None,
        idempotency_key=idempotency_key("refund", 30),
        reason="therapist_cancelled",
    )

    assert refund.id.startswith("re_")
    assert (refund.status, refund.amount_cents, refund.payment_intent_id) == (
        "succeeded",
        8000,
        intent_id,
    )
    stored = stripe_client.v1.refunds.retrieve(refund.id).to_dict()
    assert stored["metadata"] == {"reason": "therapist_cancelled"}


@peer
def test_partial_refund_keeps_the_late_fee(gateway: StripeGateway) -> None:
    intent_id = _paid(gateway, 31, 8000)

    refund = gateway.refund(
        payment_intent_id=intent_id,
        amount_cents=4000,
        idempotency_key=idempotency_key("refund", 31),
        reason="late_cancellation",
    )

    assert (refund.status, refund.amount_cents) == ("succeeded", 4000)


@peer
def test_refunding_a_failed_payment_is_a_gateway_error(
    gateway: StripeGateway, stripe_client: stripe.StripeClient
) -> None:
    customer_id = gateway.create_customer(13)
    method_id = saved_card(gateway, stripe_client, customer_id, DECLINED_ON_CHARGE)
    failed = gateway.charge_off_session(
        booking_id=32,
        amount_cents=4000,
        customer_id=customer_id,
        payment_method_id=method_id,
        idempotency_key="pay-32",
    )

    with pytest.raises(PaymentGatewayError) as caught:
        gateway.refund(
            payment_intent_id=failed.id,
            amount_cents=None,
            idempotency_key="refund-32",
            reason="client_cancelled",
        )
    assert not isinstance(caught.value, CardDeclined)


@peer
def test_unknown_payment_intent_is_a_gateway_error(gateway: StripeGateway) -> None:
    with pytest.raises(PaymentGatewayError):
        gateway.retrieve_payment_intent("pi_doesnotexist0000")


@pytest.mark.parametrize(
    "reason", ["Client has depression", "late cancellation", "", "x" * 65, "Ünicode"]
)
def test_refund_reason_must_be_a_short_code_so_no_free_text_reaches_stripe(reason: str) -> None:
    gateway = StripeGateway(SECRET_KEY, api_base="http://127.0.0.1:9")
    with pytest.raises(ValueError):
        gateway.refund(
            payment_intent_id="pi_x", amount_cents=None, idempotency_key="refund-1", reason=reason
        )


@pytest.mark.parametrize("amount", [0, -100, 40.0, True])
def test_amounts_are_positive_integer_cents(amount: Any) -> None:
    gateway = StripeGateway(SECRET_KEY, api_base="http://127.0.0.1:9")
    with pytest.raises(ValueError):
        gateway.create_payment_intent(
            booking_id=1,
            amount_cents=amount,
            currency="usd",
            customer_id=None,
            idempotency_key="pay-1",
        )


def test_unreachable_stripe_is_a_gateway_error() -> None:
    gateway = StripeGateway(
        SECRET_KEY, api_base=f"http://127.0.0.1:{free_port()}", max_network_retries=0
    )
    with pytest.raises(PaymentGatewayError) as caught:
        gateway.create_customer(1)
    assert not isinstance(caught.value, CardDeclined)


# --- webhooks -----------------------------------------------------------------------------


def _wait_for_event(receiver: WebhookReceiver, event_type: str, object_id: str) -> Any:
    def matches(event: dict[str, Any]) -> bool:
        return bool(event["type"] == event_type and event["data"]["object"]["id"] == object_id)

    return receiver.wait_for(matches)


@peer
def test_signed_webhook_sent_by_localstripe_is_verified(
    gateway: StripeGateway, webhook_receiver: WebhookReceiver
) -> None:
    intent_id = _paid(gateway, 41, 4000)
    webhook = _wait_for_event(webhook_receiver, "payment_intent.succeeded", intent_id)
    assert webhook.signature and webhook.signature.startswith("t=")

    event = gateway.parse_webhook(webhook.body, webhook.signature)

    assert event.id.startswith("evt_")
    assert (event.type, event.object_id, event.booking_id) == (
        "payment_intent.succeeded",
        intent_id,
        "41",
    )
    assert event.object["amount"] == 4000 and isinstance(event.object, dict)
    assert event.created.tzinfo is UTC
    assert abs((datetime.now(UTC) - event.created).total_seconds()) < 120


@peer
def test_payment_failed_webhook_is_verified(
    gateway: StripeGateway, stripe_client: stripe.StripeClient, webhook_receiver: WebhookReceiver
) -> None:
    customer_id = gateway.create_customer(14)
    method_id = saved_card(gateway, stripe_client, customer_id, DECLINED_ON_CHARGE)
    failed = gateway.charge_off_session(
        booking_id=42,
        amount_cents=4000,
        customer_id=customer_id,
        payment_method_id=method_id,
        idempotency_key="late-fee-42",
    )
    webhook = _wait_for_event(webhook_receiver, "payment_intent.payment_failed", failed.id)

    event = gateway.parse_webhook(webhook.body, webhook.signature)

    assert (event.type, event.object_id, event.booking_id) == (
        "payment_intent.payment_failed",
        failed.id,
        "42",
    )


def _sign(body: bytes, secret: str, timestamp: int) -> str:
    mac = hmac.new(secret.encode(), b"%d." % timestamp + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


@peer
def test_forged_webhooks_are_rejected(
    gateway: StripeGateway, webhook_receiver: WebhookReceiver
) -> None:
    intent_id = _paid(gateway, 43, 4000)
    genuine = _wait_for_event(webhook_receiver, "payment_intent.succeeded", intent_id)
    assert genuine.signature
    tampered = genuine.body.replace(b'"amount": 4000', b'"amount": 1')
    assert tampered != genuine.body
    now = int(time.time())

    forgeries: list[tuple[bytes, str | None]] = [
        (tampered, genuine.signature),  # body changed after signing
        (genuine.body, _sign(genuine.body, "whsec_guess", now)),  # wrong secret
        (genuine.body, None),  # no signature at all
        (genuine.body, ""),
        (genuine.body, "t=1,v1=deadbeef"),
        (genuine.body, _sign(genuine.body, WEBHOOK_SECRET, now - 3600)),  # replayed an hour late
    ]
    for body, signature in forgeries:
        with pytest.raises(InvalidWebhook):
            gateway.parse_webhook(body, signature)


def test_signed_garbage_is_rejected() -> None:
    gateway = StripeGateway(SECRET_KEY, api_base="http://127.0.0.1:9", webhook_secret="whsec_x")
    now = int(time.time())
    for body in (b"not json", b'{"id": "evt_1"}', b'{"object": "event", "id": "evt_1"}'):
        with pytest.raises(InvalidWebhook):
            gateway.parse_webhook(body, _sign(body, "whsec_x", now))


def test_parse_webhook_without_a_configured_secret_fails_loudly() -> None:
    gateway = StripeGateway(SECRET_KEY, api_base="http://127.0.0.1:9")
    with pytest.raises(PaymentGatewayError) as caught:
        gateway.parse_webhook(b"{}", "t=1,v1=00")
    assert not isinstance(caught.value, InvalidWebhook)


# --- idempotency keys (which localstripe ignores) -----------------------------------------


@pytest.mark.parametrize(
    ("kind", "booking_id", "key"),
    [("pay", 12, "pay-12"), ("refund", 12, "refund-12"), ("late-fee", "12", "late-fee-12")],
)
def test_idempotency_key_is_deterministic(kind: Any, booking_id: int | str, key: str) -> None:
    assert idempotency_key(kind, booking_id) == key


@pytest.mark.parametrize(("kind", "booking_id"), [("tip", 1), ("pay", ""), ("pay", "1 or 2")])
def test_idempotency_key_rejects_unknown_kinds_and_odd_ids(kind: Any, booking_id: str) -> None:
    with pytest.raises(ValueError):
        idempotency_key(kind, booking_id)


class _Recorder:
    """Requests seen, and the canned (status, JSON) answer per (method, path)."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str], dict[str, list[str]]]] = []
        self.replies: dict[tuple[str, str], tuple[int, dict[str, Any]]] = {}


_RECORDED_INTENT: dict[str, Any] = {
    "id": "pi_recorded",
    "object": "payment_intent",
    "status": "requires_payment_method",
    "client_secret": "pi_recorded_secret_x",
    "amount": 4000,
    "currency": "usd",
    "metadata": {"booking_id": "12"},
}


@pytest.fixture
def recorder() -> Iterator[tuple[_Recorder, str]]:
    """A loopback stand-in for Stripe: records requests, answers what a test sets up."""
    recorder = _Recorder()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
            recorder.requests.append(
                (self.path, dict(self.headers.items()), urllib.parse.parse_qs(body))
            )
            status, reply = recorder.replies.get(
                (self.command, self.path.split("?")[0]), (200, _RECORDED_INTENT)
            )
            payload = json.dumps(reply).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = _answer

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield recorder, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_idempotency_key_and_minimal_metadata_reach_the_wire(
    recorder: tuple[_Recorder, str],
) -> None:
    record, base = recorder
    gateway = StripeGateway(
        SECRET_KEY, api_base=base, max_network_retries=0, legacy_payment_method_types=False
    )

    gateway.create_payment_intent(
        booking_id=12,
        amount_cents=4000,
        currency="usd",
        customer_id="cus_1",
        idempotency_key=idempotency_key("pay", 12),
    )

    path, headers, form = record.requests[-1]
    assert path == "/v1/payment_intents"
    assert headers["Idempotency-Key"] == "pay-12"
    assert headers["Authorization"] == f"Bearer {SECRET_KEY}"
    assert form == {
        "amount": ["4000"],
        "currency": ["usd"],
        "customer": ["cus_1"],
        "capture_method": ["automatic"],
        "metadata[booking_id]": ["12"],
        "allowed_payment_method_types[0]": ["card"],
    }


def test_stripe_authentication_required_error_becomes_requires_action(
    recorder: tuple[_Recorder, str],
) -> None:
    """Stripe's own off-session shape, which localstripe does not produce: a 402 error
    with code authentication_required and the PaymentIntent in requires_payment_method."""
    record, base = recorder
    intent = {**_RECORDED_INTENT, "metadata": {"booking_id": "50"}}
    record.replies[("POST", "/v1/payment_intents")] = (
        402,
        {
            "error": {
                "type": "card_error",
                "code": "authentication_required",
                "decline_code": "authentication_required",
                "message": "Your card was declined. This transaction requires authentication.",
                "payment_intent": intent,
            }
        },
    )
    record.replies[("GET", "/v1/payment_intents/pi_recorded")] = (200, intent)
    gateway = StripeGateway(SECRET_KEY, api_base=base, max_network_retries=0)

    result = gateway.charge_off_session(
        booking_id=50,
        amount_cents=4000,
        customer_id="cus_1",
        payment_method_id="pm_1",
        idempotency_key="late-fee-50",
    )

    assert (result.status, result.id, result.client_secret, result.booking_id) == (
        REQUIRES_ACTION,
        "pi_recorded",
        "pi_recorded_secret_x",
        "50",
    )
    assert result.failure_code == "authentication_required"
    _path, headers, form = record.requests[0]
    assert headers["Idempotency-Key"] == "late-fee-50"
    assert form["off_session"] == ["true"] and form["confirm"] == ["true"]
