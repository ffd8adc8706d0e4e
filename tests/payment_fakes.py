"""Test helpers for payments: bookings made directly with the model, and a fake gateway.

The fake stands in for Stripe where localstripe cannot (see the gap list in
tests/services/payments/test_payments.py): it honours idempotency keys, can decline, ask
for authentication or fail, and can sign webhook events like Stripe does.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from teletherapy.extensions import db
from teletherapy.gateways.payments import (
    FAILED,
    REQUIRES_ACTION,
    SUCCEEDED,
    CardDeclined,
    PaymentGatewayError,
    PaymentIntentResult,
    RefundResult,
    SetupIntentResult,
    StripeGateway,
    WebhookEvent,
)
from teletherapy.models import Booking, TherapistPaymentSettings, User

WEBHOOK_SECRET = "whsec_unit_tests"


def add_booking(
    therapist: User,
    client: User | None,
    *,
    start: datetime,
    minutes: int = 50,
    fee_cents: int = 6000,
    status: str = "held",
    hold_minutes: int | None = 15,
    fee_band: str | None = "b",
    group_id: int | None = None,
    now: datetime | None = None,
) -> Booking:
    """A booking row as the booking service would leave it (committed)."""
    assert therapist.therapist_id is not None
    end = start + timedelta(minutes=minutes)
    booking = Booking(
        therapist_id=therapist.therapist_id,
        client_id=client.id if client else None,
        group_id=group_id,
        status=status,
        setting="online",
        start_at=start,
        end_at=end,
        blocked_start_at=start,
        blocked_end_at=end + timedelta(minutes=10),
        time_zone="America/New_York",
        hold_expires_at=(now or start) + timedelta(minutes=hold_minutes)
        if status == "held" and hold_minutes is not None
        else None,
        fee_cents=fee_cents,
        currency="usd",
        fee_band=fee_band,
    )
    db.session.add(booking)
    db.session.commit()
    return booking


def accept(
    therapist: User, *methods: str, late_fee_cents: int = 0, waive_first: bool = True
) -> None:
    assert therapist.therapist_id is not None
    row = db.session.get(TherapistPaymentSettings, therapist.therapist_id)
    if row is None:
        row = TherapistPaymentSettings(therapist_id=therapist.therapist_id)
        db.session.add(row)
    row.accepts_pay_now = "pay_now" in methods
    row.accepts_card_on_file = "card_on_file" in methods
    row.accepts_pay_at_session = "pay_at_session" in methods
    row.late_cancel_fee_cents = late_fee_cents
    row.waive_first_late_cancel = waive_first
    db.session.commit()


def cancel(booking: Booking, *, by: str, late: bool, now: datetime, no_show: bool = False) -> None:
    """What the booking service's cancel_booking does around the payment hook."""
    from teletherapy.services.payments.ledger import on_booking_cancelled

    booking.status = "no_show" if no_show else "cancelled"
    booking.cancelled_by = None if no_show else by
    booking.cancelled_at = now
    booking.is_late_cancellation = late
    on_booking_cancelled(booking=booking, now=now)
    db.session.commit()


@dataclass
class FakeIntent:
    id: str
    amount: int
    currency: str
    booking_id: str
    status: str
    client_secret: str
    customer: str | None = None


@dataclass
class FakeGateway:
    """A PaymentGateway that keeps intents in memory and replays idempotent requests.

    `card_behaviour` maps a payment method id to "ok", "decline", "authenticate"
    (3-D Secure) or "error" (Stripe unreachable).
    """

    card_behaviour: dict[str, str] = field(default_factory=dict)
    intents: dict[str, FakeIntent] = field(default_factory=dict)
    refunds: list[RefundResult] = field(default_factory=list)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    by_key: dict[str, Any] = field(default_factory=dict)
    fail_next: int = 0
    _ids: Any = field(default_factory=lambda: itertools.count(1))
    _signer: StripeGateway = field(
        default_factory=lambda: StripeGateway("sk_test_fake", webhook_secret=WEBHOOK_SECRET)
    )

    def _next(self, prefix: str) -> str:
        return f"{prefix}_fake{next(self._ids)}"

    def _maybe_fail(self) -> None:
        if self.fail_next:
            self.fail_next -= 1
            raise PaymentGatewayError("payment provider error during test: APIConnectionError")

    def keys(self, name: str) -> list[str]:
        return [kwargs["idempotency_key"] for call, kwargs in self.calls if call == name]

    def create_customer(self, client_id: int) -> str:
        self.calls.append(("create_customer", {"client_id": client_id}))
        return self._next("cus")

    def create_setup_intent(self, customer_id: str) -> SetupIntentResult:
        self.calls.append(("create_setup_intent", {"customer_id": customer_id}))
        seti = self._next("seti")
        return SetupIntentResult(seti, f"{seti}_secret_x")

    def _intent(self, *, key: str, booking_id: int, amount: int, currency: str, card: str) -> Any:
        if key in self.by_key:  # Stripe replays the first answer to a repeated key
            return self.by_key[key]
        behaviour = self.card_behaviour.get(card, "ok")
        if behaviour == "error":
            raise PaymentGatewayError("payment provider error during test: APIConnectionError")
        pi = self._next("pi")
        intent = FakeIntent(
            id=pi,
            amount=amount,
            currency=currency,
            booking_id=str(booking_id),
            status={"ok": SUCCEEDED, "authenticate": REQUIRES_ACTION}.get(
                behaviour, "requires_payment_method"
            ),
            client_secret=f"{pi}_secret_x",
        )
        self.intents[pi] = intent
        answer: Any = intent
        if behaviour == "decline":
            answer = CardDeclined(
                "card_declined",
                "Your card was declined.",
                decline_code="generic_decline",
                payment_intent_id=pi,
            )
        self.by_key[key] = answer
        return answer

    def create_payment_intent(
        self,
        *,
        booking_id: int,
        amount_cents: int,
        currency: str,
        customer_id: str | None,
        idempotency_key: str,
        payment_method_id: str | None = None,
    ) -> PaymentIntentResult:
        self.calls.append(
            (
                "create_payment_intent",
                {"idempotency_key": idempotency_key, "booking_id": booking_id},
            )
        )
        self._maybe_fail()
        answer = self._intent(
            key=idempotency_key,
            booking_id=booking_id,
            amount=amount_cents,
            currency=currency,
            card=payment_method_id or "",
        )
        if isinstance(answer, CardDeclined):
            raise answer
        return self._result(answer)

    def charge_off_session(
        self,
        *,
        booking_id: int,
        amount_cents: int,
        customer_id: str,
        payment_method_id: str,
        idempotency_key: str,
        currency: str = "usd",
    ) -> PaymentIntentResult:
        self.calls.append(
            (
                "charge_off_session",
                {"idempotency_key": idempotency_key, "booking_id": booking_id},
            )
        )
        self._maybe_fail()
        answer = self._intent(
            key=idempotency_key,
            booking_id=booking_id,
            amount=amount_cents,
            currency=currency,
            card=payment_method_id,
        )
        if isinstance(answer, CardDeclined):
            assert answer.payment_intent_id is not None
            return PaymentIntentResult(
                answer.payment_intent_id,
                FAILED,
                None,
                amount_cents,
                currency,
                str(booking_id),
                "generic_decline",
            )
        return self._result(answer)

    def retrieve_payment_intent(self, payment_intent_id: str) -> PaymentIntentResult:
        self.calls.append(("retrieve_payment_intent", {"id": payment_intent_id}))
        intent = self.intents.get(payment_intent_id)
        if intent is None:
            raise PaymentGatewayError("no such payment intent")
        return self._result(intent)

    def refund(
        self,
        *,
        payment_intent_id: str,
        amount_cents: int | None,
        idempotency_key: str,
        reason: str,
    ) -> RefundResult:
        self.calls.append(
            (
                "refund",
                {
                    "idempotency_key": idempotency_key,
                    "payment_intent_id": payment_intent_id,
                    "amount_cents": amount_cents,
                    "reason": reason,
                },
            )
        )
        self._maybe_fail()
        if idempotency_key in self.by_key:
            answer: RefundResult = self.by_key[idempotency_key]
            return answer
        intent = self.intents[payment_intent_id]
        result = RefundResult(
            self._next("re"), "succeeded", amount_cents or intent.amount, payment_intent_id
        )
        self.refunds.append(result)
        self.by_key[idempotency_key] = result
        return result

    def parse_webhook(self, payload: bytes, signature_header: str | None) -> WebhookEvent:
        return self._signer.parse_webhook(payload, signature_header)

    # --- test controls -------------------------------------------------------------------

    def complete_authentication(self, payment_intent_id: str, *, success: bool = True) -> None:
        """What the 3-D Secure box in the page does at the bank."""
        intent = self.intents[payment_intent_id]
        intent.status = SUCCEEDED if success else "requires_payment_method"

    def _result(self, intent: FakeIntent) -> PaymentIntentResult:
        return PaymentIntentResult(
            id=intent.id,
            status=intent.status,
            client_secret=intent.client_secret,
            amount_cents=intent.amount,
            currency=intent.currency,
            booking_id=intent.booking_id,
        )


_event_ids = itertools.count(1)


def stripe_event(
    event_type: str,
    obj: dict[str, Any],
    *,
    event_id: str | None = None,
    created: int | None = None,
) -> bytes:
    """A Stripe event body as Stripe sends it."""
    body = {
        "id": event_id or f"evt_test_{next(_event_ids)}_{time.time_ns()}",
        "object": "event",
        "type": event_type,
        "created": created or int(time.time()),
        "data": {"object": obj},
    }
    return json.dumps(body).encode()


def sign(payload: bytes, *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """The Stripe-Signature header Stripe would send for `payload`."""
    ts = timestamp or int(time.time())
    mac = hmac.new(secret.encode(), f"{ts}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={ts},v1={mac}"


def intent_object(intent_id: str, amount: int, booking_id: int, **extra: Any) -> dict[str, Any]:
    return {
        "id": intent_id,
        "object": "payment_intent",
        "amount": amount,
        "currency": "usd",
        "metadata": {"booking_id": str(booking_id)},
        **extra,
    }


def charge_object(
    intent_id: str, amount: int, booking_id: int, *, amount_refunded: int = 0
) -> dict[str, Any]:
    return {
        "id": f"ch_for_{intent_id}",
        "object": "charge",
        "amount": amount,
        "amount_refunded": amount_refunded,
        "currency": "usd",
        "payment_intent": intent_id,
        "metadata": {"booking_id": str(booking_id)},
    }
