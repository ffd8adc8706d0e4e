"""The therapist settles a session: paid in person, or a late fee waived for hardship."""

from __future__ import annotations

import logging
from datetime import datetime

from teletherapy.domain.booking import BookingStatus
from teletherapy.domain.errors import ConflictError, NotFoundError
from teletherapy.domain.payments import (
    PAID_IN_PERSON_SUFFIX,
    PaymentMethod,
)
from teletherapy.extensions import db
from teletherapy.gateways.payments import (
    idempotency_key,
)
from teletherapy.models import (
    LedgerKind,
    LedgerStatus,
    Payment,
    User,
)
from teletherapy.services.payments.ledger import (
    PAID,
    charge_line,
    decide,
    first_line,
    latest_charge,
    lock_booking,
    paid_intent,
    refund_line,
)
from teletherapy.services.payments.settings import (
    therapist_id_of,
)

logger = logging.getLogger(__name__)


def mark_paid_at_session(*, therapist: User, booking_id: int, now: datetime) -> Payment:
    """The therapist took payment in person: the session's charge (or owed fee) is paid."""
    therapist_id = therapist_id_of(therapist)
    booking = lock_booking(booking_id)
    if booking.therapist_id != therapist_id or booking.client_id is None:
        raise NotFoundError("No such session.")
    fee = first_line(booking.id, LedgerKind.LATE_FEE)
    if (
        booking.status in (BookingStatus.CANCELLED, BookingStatus.NO_SHOW)
        and fee is not None
        and fee.method == PaymentMethod.PAY_AT_SESSION.value
        and fee.status == LedgerStatus.UNPAID
    ):
        fee.status = LedgerStatus.SUCCEEDED
        fee.reason = fee.reason + PAID_IN_PERSON_SUFFIX
        db.session.commit()
        return fee
    if booking.status not in (BookingStatus.CONFIRMED, BookingStatus.COMPLETED):
        raise ConflictError("Only a booked session can be marked paid.", extra={"reason": "status"})
    charge = latest_charge(booking.id)
    if charge is None:
        charge = charge_line(
            booking, method=PaymentMethod.PAY_AT_SESSION, status=LedgerStatus.UNPAID
        )
        db.session.add(charge)
    if charge.method != PaymentMethod.PAY_AT_SESSION.value:
        raise ConflictError("This session is paid by card.", extra={"reason": "method"})
    if charge.status in PAID:
        raise ConflictError("This session is already paid.", extra={"reason": "paid"})
    charge.status = LedgerStatus.SUCCEEDED
    charge.reason = "Paid at the session"
    db.session.commit()
    return charge


def waive_late_fee(*, therapist: User, booking_id: int, now: datetime) -> Payment:
    """A hardship waiver, in one click: the fee is dropped, or refunded if already taken."""
    therapist_id = therapist_id_of(therapist)
    booking = lock_booking(booking_id)
    if booking.therapist_id != therapist_id:
        raise NotFoundError("No such session.")
    fee = first_line(booking.id, LedgerKind.LATE_FEE)
    if fee is None or fee.status in (LedgerStatus.WAIVED, LedgerStatus.VOID):
        raise ConflictError("There is no fee to waive.", extra={"reason": "no_fee"})
    if fee.status == LedgerStatus.PROCESSING:
        raise ConflictError(
            "The fee is being charged right now; try again in a minute.",
            extra={"reason": "processing"},
        )
    decision = decide(booking, hardship=True)
    if fee.status in PAID:
        intent_id = fee.stripe_payment_intent_id or paid_intent(booking.id)
        if intent_id is not None:
            db.session.add(
                refund_line(
                    booking,
                    amount_cents=fee.amount_cents,
                    intent_id=intent_id,
                    key=idempotency_key("refund", f"{booking.id}_waiver"),
                    reason="Late-cancel fee waived for hardship: refunded",
                    code="hardship_waiver",
                    method=fee.method,
                )
            )
    fee.status = LedgerStatus.WAIVED
    fee.reason = decision.reason
    fee.reason_code = "hardship_waiver"
    db.session.commit()
    return fee
