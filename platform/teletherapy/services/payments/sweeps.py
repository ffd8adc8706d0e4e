"""Sweeps (jobs): lapsed holds, pending refunds and fees, off-session charges of cards on file."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, update

from teletherapy.domain.booking import BookingStatus
from teletherapy.domain.payments import (
    PaymentMethod,
    PaymentStatus,
    apply_payment_event,
)
from teletherapy.extensions import db
from teletherapy.gateways import public_url
from teletherapy.gateways.payments import (
    CANCELED,
    FAILED,
    PROCESSING,
    PaymentGateway,
    PaymentGatewayError,
    idempotency_key,
)
from teletherapy.models import (
    Booking,
    ClientPaymentProfile,
    LedgerKind,
    LedgerStatus,
    Payment,
    User,
)
from teletherapy.services.bookings import lifecycle
from teletherapy.services.messaging import messages
from teletherapy.services.payments.ledger import (
    MAX_ATTEMPTS,
    PROCESSING_LEASE,
    advance,
    count_charges,
    lattice,
    lines_with_intent,
    lock_booking,
    lock_payment,
    refunded_cents,
)

logger = logging.getLogger(__name__)


@dataclass
class SweepCounts:
    done: int = 0
    failed: int = 0
    needs_client: int = 0
    expired: int = 0


def expire_stale_holds(*, now: datetime) -> int:
    """Release held bookings whose hold ran out unpaid (they become expired); one commit."""
    count = lifecycle.expire_lapsed_holds(now=now)
    db.session.commit()
    if count:
        logger.info("released %d expired holds", count)
    return count


def execute_pending(*, gateway: PaymentGateway, now: datetime, limit: int = 50) -> SweepCounts:
    """Move the money recorded as pending: refunds and card-on-file late fees.

    Each line is claimed (pending -> processing) in its own commit, Stripe is called
    outside any transaction with the line's idempotency key, and the result is
    recorded. A line left processing by a dead sweep is taken again after the lease.
    """
    counts = SweepCounts()
    for line_id in _claim(
        (Payment.kind.in_((LedgerKind.REFUND.value, LedgerKind.LATE_FEE.value)))
        & Payment.idempotency_key.is_not(None),
        now=now,
        limit=limit,
        from_status=LedgerStatus.PENDING,
    ):
        line = lock_payment(line_id)
        try:
            if line.kind == LedgerKind.REFUND.value:
                _execute_refund(line, gateway, now)
            else:
                _execute_fee(line, gateway, now, counts)
        except PaymentGatewayError as exc:
            _give_back(line_id, LedgerStatus.PENDING, exc)
            counts.failed += 1
            continue
        counts.done += 1
    return counts


def _execute_refund(line: Payment, gateway: PaymentGateway, now: datetime) -> None:
    assert line.stripe_payment_intent_id and line.idempotency_key
    intent_id, key, amount = line.stripe_payment_intent_id, line.idempotency_key, line.amount_cents
    code = line.reason_code or "refund"
    db.session.rollback()  # no transaction open while Stripe is called
    result = gateway.refund(
        payment_intent_id=intent_id, amount_cents=amount, idempotency_key=key, reason=code
    )
    line = lock_payment(line.id)
    line.stripe_refund_id = result.id
    line.status = (
        LedgerStatus.FAILED if result.status in (FAILED, CANCELED) else LedgerStatus.SUCCEEDED
    )
    booking = lock_booking(line.booking_id)
    if line.status == LedgerStatus.SUCCEEDED:
        for paid in lines_with_intent(intent_id):
            if paid.status == LedgerStatus.WAIVED:
                continue  # a fee waived for hardship stays shown as waived
            refunded = refunded_cents(intent_id)
            advance(
                paid,
                apply_payment_event(
                    lattice(paid.status),
                    "charge.refunded",
                    is_partial_refund=refunded < paid.amount_cents,
                ),
                booking,
                now,
            )
    db.session.commit()


def _execute_fee(
    line: Payment, gateway: PaymentGateway, now: datetime, counts: SweepCounts
) -> None:
    assert line.idempotency_key
    profile = db.session.get(ClientPaymentProfile, line.client_id)
    if profile is None or not profile.stripe_customer_id or not profile.default_payment_method_id:
        line.status = LedgerStatus.UNPAID
        line.method = PaymentMethod.PAY_AT_SESSION.value
        line.last_error = "no card on file"
        db.session.commit()
        return
    line_id, booking_id, amount, currency, key = (
        line.id,
        line.booking_id,
        line.amount_cents,
        line.currency,
        line.idempotency_key,
    )
    customer_id, card_id = profile.stripe_customer_id, profile.default_payment_method_id
    db.session.rollback()  # no transaction open while Stripe is called
    intent = gateway.charge_off_session(
        booking_id=booking_id,
        amount_cents=amount,
        currency=currency,
        customer_id=customer_id,
        payment_method_id=card_id,
        idempotency_key=key,
    )
    line = lock_payment(line_id)
    line.stripe_payment_intent_id = intent.id
    if intent.is_succeeded:
        line.status = LedgerStatus.SUCCEEDED
    else:
        # The fee stays owed: shown to both parties, settled with the therapist.
        line.status = LedgerStatus.FAILED
        line.last_error = (intent.failure_code or intent.status)[:300]
        counts.needs_client += 1
    db.session.commit()


def charge_completed_sessions(
    *, gateway: PaymentGateway, now: datetime, limit: int = 50
) -> SweepCounts:
    """Charge the card on file for sessions that have taken place, off-session.

    If the bank wants the client (3-D Secure) or declines, the client gets an email
    with a link to pay on-session.
    """
    counts = SweepCounts()
    done_sessions = select(Booking.id).where(
        Booking.status.in_((BookingStatus.CONFIRMED, BookingStatus.COMPLETED)),
        Booking.end_at <= now,
    )
    for line_id in _claim(
        (Payment.kind == LedgerKind.CHARGE.value)
        & (Payment.method == PaymentMethod.CARD_ON_FILE.value)
        & Payment.booking_id.in_(done_sessions),
        now=now,
        limit=limit,
        from_status=LedgerStatus.UNPAID,
    ):
        line = lock_payment(line_id)
        profile = db.session.get(ClientPaymentProfile, line.client_id)
        if (
            profile is None
            or not profile.stripe_customer_id
            or not profile.default_payment_method_id
        ):
            _give_back(line_id, LedgerStatus.FAILED, None, error="no card on file")
            counts.failed += 1
            continue
        if line.idempotency_key is None:
            attempt = count_charges(line.booking_id)
            line.idempotency_key = idempotency_key(
                "pay", line.booking_id if attempt == 1 else f"{line.booking_id}_{attempt}"
            )
        key, booking_id, amount, currency = (
            line.idempotency_key,
            line.booking_id,
            line.amount_cents,
            line.currency,
        )
        customer_id, card_id = profile.stripe_customer_id, profile.default_payment_method_id
        db.session.commit()
        try:
            intent = gateway.charge_off_session(
                booking_id=booking_id,
                amount_cents=amount,
                currency=currency,
                customer_id=customer_id,
                payment_method_id=card_id,
                idempotency_key=key,
            )
        except PaymentGatewayError as exc:
            _give_back(line_id, LedgerStatus.UNPAID, exc)
            counts.failed += 1
            continue
        line = lock_payment(line_id)
        booking = lock_booking(line.booking_id)
        line.stripe_payment_intent_id = intent.id
        if intent.is_succeeded:
            advance(line, PaymentStatus.SUCCEEDED, booking, now)
            counts.done += 1
        elif intent.status == PROCESSING:
            line.status = LedgerStatus.PENDING
            counts.done += 1
        else:
            line.status = LedgerStatus.PENDING if intent.needs_action else LedgerStatus.FAILED
            line.last_error = (intent.failure_code or intent.status)[:300]
            _email_pay_link(line, booking, needs_authentication=intent.needs_action, now=now)
            counts.needs_client += 1
        db.session.commit()
    return counts


def _claim(condition: Any, *, now: datetime, limit: int, from_status: LedgerStatus) -> list[int]:
    """Claim lines (status -> processing) with a conditional update: a line another
    sweep took in between no longer matches and is skipped."""
    stale = now - PROCESSING_LEASE
    due = condition & or_(
        Payment.status == from_status.value,
        (Payment.status == LedgerStatus.PROCESSING) & (Payment.updated_at < stale),
    )
    ids = list(
        db.session.scalars(
            select(Payment.id)
            .where(due, Payment.attempts < MAX_ATTEMPTS)
            .order_by(Payment.id)
            .limit(limit)
        )
    )
    claimed: list[int] = []
    for line_id in ids:
        result = db.session.execute(
            update(Payment)
            .where(Payment.id == line_id, due)
            .values(
                status=LedgerStatus.PROCESSING,
                attempts=Payment.attempts + 1,
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        if int(getattr(result, "rowcount", 0) or 0) == 1:
            claimed.append(line_id)
    db.session.commit()
    return claimed


def _give_back(
    line_id: int,
    status: LedgerStatus,
    exc: Exception | None,
    *,
    error: str | None = None,
) -> None:
    db.session.rollback()
    line = lock_payment(line_id)
    if line.status == LedgerStatus.PROCESSING:
        line.status = status
    line.last_error = (error or (f"{type(exc).__name__}" if exc else "failed"))[:300]
    db.session.commit()


def _email_pay_link(
    line: Payment, booking: Booking, *, needs_authentication: bool, now: datetime
) -> None:
    client = db.session.get(User, line.client_id)
    if client is None:
        return
    messages.send_message(
        kind="payment_action_required",
        person=client,
        context={
            "needs_authentication": needs_authentication,
            "pay_url": public_url(f"/payments/bookings/{booking.id}/pay"),
        },
        now=now,
        dedupe_key=f"payment-action-{line.id}-{line.attempts}",
        booking_id=booking.id,
    )
