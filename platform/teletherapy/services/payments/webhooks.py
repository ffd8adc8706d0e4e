"""Stripe webhooks: verified, stored once per event id, applied to the ledger."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from teletherapy.domain.payments import (
    PAYMENT_EVENT_TYPES,
    apply_payment_event,
)
from teletherapy.extensions import db
from teletherapy.gateways.payments import (
    PaymentGateway,
    WebhookEvent,
)
from teletherapy.models import (
    LedgerKind,
    LedgerStatus,
    Payment,
    StripeEvent,
)
from teletherapy.services.payments.ledger import (
    advance,
    latest_charge,
    lattice,
    lock_booking,
    lock_payment,
)

logger = logging.getLogger(__name__)


def process_webhook(
    *, payload: bytes, signature_header: str | None, gateway: PaymentGateway, now: datetime
) -> str:
    """Verify, store the event id once, apply it: "processed", "duplicate" or "ignored".

    A forged or garbled request raises `InvalidWebhook` before anything is written.
    """
    event = gateway.parse_webhook(payload, signature_header)
    if db.session.scalar(select(StripeEvent.id).where(StripeEvent.event_id == event.id)):
        db.session.rollback()
        return "duplicate"
    record = StripeEvent(event_id=event.id, type=event.type, received_at=now)
    db.session.add(record)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        return "duplicate"
    outcome = _apply_event(event, now)
    record.processed_at = now
    try:
        db.session.commit()
    except IntegrityError:  # the same event, delivered twice at once
        db.session.rollback()
        return "duplicate"
    logger.info("stripe event %s (%s): %s", event.id, event.type, outcome)
    return outcome


def _apply_event(event: WebhookEvent, now: datetime) -> str:
    if event.type not in PAYMENT_EVENT_TYPES:
        return "ignored"
    obj = event.object
    if event.type.startswith("charge."):
        intent = obj.get("payment_intent")
        intent_id = str(intent.get("id") if isinstance(intent, dict) else intent or "")
    else:
        intent_id = event.object_id or ""
    if not intent_id:
        return "ignored"
    line = db.session.scalar(
        select(Payment)
        .where(
            Payment.stripe_payment_intent_id == intent_id,
            Payment.kind.in_((LedgerKind.CHARGE.value, LedgerKind.LATE_FEE.value)),
        )
        .order_by(Payment.id)
        .limit(1)
        .with_for_update()
    )
    if line is None and event.booking_id and event.booking_id.isdigit():
        # The event overtook our own record of the intent (we write it after Stripe answers).
        latest = latest_charge(int(event.booking_id))
        if (
            latest is not None
            and latest.stripe_payment_intent_id is None
            and latest.status in (LedgerStatus.PENDING, LedgerStatus.PROCESSING)
        ):
            line = lock_payment(latest.id)
            line.stripe_payment_intent_id = intent_id
    if line is None:
        return "ignored"
    amount = obj.get("amount")
    currency = obj.get("currency")
    if (isinstance(amount, int) and amount != line.amount_cents) or (
        isinstance(currency, str) and currency.lower() != line.currency
    ):
        logger.warning(
            "stripe event %s: amount or currency differs from payment %s", event.id, line.id
        )
        return "ignored"
    refunded = obj.get("amount_refunded")
    partial = isinstance(refunded, int) and isinstance(amount, int) and refunded < amount
    target = apply_payment_event(lattice(line.status), event.type, is_partial_refund=partial)
    booking = lock_booking(line.booking_id)
    advance(line, target, booking, now)
    return "processed"
