"""The payments ledger: charge, refund and fee lines, what a cancellation or no-show costs.

Money moves in two steps. A use case records what must happen as ledger lines
(`Payment` rows) in its own transaction; Stripe is called outside any transaction,
with the line's deterministic idempotency key ("pay-12", "refund-12",
"late-fee-12"), and the result is recorded afterwards. A retry after a crash
repeats the same request, so money never moves twice. A payment is recorded as
succeeded only from Stripe itself: the answer to a server-side call, a
retrieval, or a verified webhook, never from the browser's word.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import func, select

from teletherapy.domain.booking import BookingStatus
from teletherapy.domain.errors import NotFoundError
from teletherapy.domain.payments import (
    Decision,
    PaymentMethod,
    PaymentStatus,
    Waiver,
    refund_for_cancellation,
)
from teletherapy.extensions import db
from teletherapy.gateways.payments import (
    idempotency_key,
)
from teletherapy.models import (
    AvailabilitySettings,
    Booking,
    ClientPaymentProfile,
    LedgerKind,
    LedgerStatus,
    Payment,
    User,
)
from teletherapy.services.bookings import lifecycle
from teletherapy.services.payments.settings import (
    get_settings,
)

logger = logging.getLogger(__name__)


# A sweep that died while calling Stripe leaves its line "processing"; after this
# lease the line is taken again (same idempotency key, so no double movement).
PROCESSING_LEASE = timedelta(minutes=10)


MAX_ATTEMPTS = 8


# Statuses of a charge line that mean the client has (or had) paid.
PAID = (
    LedgerStatus.SUCCEEDED,
    LedgerStatus.PARTIALLY_REFUNDED,
    LedgerStatus.REFUNDED,
)


CARD_METHODS = (PaymentMethod.PAY_NOW.value, PaymentMethod.CARD_ON_FILE.value)


def on_booking_cancelled(*, booking: Booking, now: datetime) -> None:
    """Record the refund or late-cancel fee a cancellation (or no-show) causes.

    Called inside the booking service's transaction: it only adds ledger lines
    (never commits, never calls Stripe); `execute_pending` moves the money.
    """
    if booking.client_id is None or booking.fee_cents <= 0:
        return
    if first_line(booking.id, LedgerKind.REFUND) or first_line(booking.id, LedgerKind.LATE_FEE):
        return  # already decided (a repeated hook)
    charge = latest_charge(booking.id)
    decision = decide(booking, hardship=False)
    intent_paid = paid_intent(booking.id)
    method = charge.method if charge is not None else PaymentMethod.PAY_AT_SESSION.value
    if charge is not None and charge.status == LedgerStatus.UNPAID:
        # Nothing collected yet: the session's own charge never will be.
        charge.status = LedgerStatus.VOID
    code = _reason_code(booking)
    if decision.refund_cents > 0 and intent_paid is not None:
        db.session.add(
            refund_line(
                booking,
                amount_cents=decision.refund_cents,
                intent_id=intent_paid,
                key=idempotency_key("refund", booking.id),
                reason=_reason_text(booking, decision),
                code=code,
                method=method,
            )
        )
    if decision.waiver is Waiver.FIRST_LATE_CANCELLATION:
        profile = client_profile(booking.client_id)
        profile.late_cancellations_waived += 1
        db.session.add(
            fee_line(booking, 0, LedgerStatus.WAIVED, method, decision.reason, code, None, None)
        )
    elif decision.fee_cents > 0:
        kept = decision.fee_cents - decision.charge_cents
        if decision.charge_cents == 0 and kept > 0:
            # Kept out of what was paid: no money moves.
            db.session.add(
                fee_line(
                    booking, kept, LedgerStatus.SUCCEEDED, method, decision.reason, code, None, None
                )
            )
        elif method == PaymentMethod.CARD_ON_FILE.value and has_saved_card(booking.client_id):
            db.session.add(
                fee_line(
                    booking,
                    decision.charge_cents,
                    LedgerStatus.PENDING,
                    method,
                    decision.reason,
                    code,
                    idempotency_key("late-fee", booking.id),
                    None,
                )
            )
        else:
            # Owed, to be settled with the therapist (marked paid, or waived).
            db.session.add(
                fee_line(
                    booking,
                    decision.charge_cents,
                    LedgerStatus.UNPAID,
                    PaymentMethod.PAY_AT_SESSION.value,
                    decision.reason,
                    code,
                    None,
                    None,
                )
            )
    db.session.flush()


def on_booking_no_show(*, booking: Booking, now: datetime) -> None:
    """A missed session costs the late-cancel fee, like a late cancellation."""
    on_booking_cancelled(booking=booking, now=now)


def decide(booking: Booking, *, hardship: bool) -> Decision:
    assert booking.client_id is not None
    settings = get_settings(therapist_id=booking.therapist_id)
    profile = db.session.get(ClientPaymentProfile, booking.client_id)
    waived_before = profile.late_cancellations_waived if profile is not None else 0
    availability = db.session.get(AvailabilitySettings, booking.therapist_id)
    by_therapist = (
        booking.cancelled_by not in ("client", None) and booking.status != BookingStatus.NO_SHOW
    )
    paid = paid_cents(booking.id)
    return refund_for_cancellation(
        price_cents=booking.fee_cents,
        paid_cents=min(paid, booking.fee_cents),
        cancelled_by="therapist" if by_therapist else "client",
        is_late=booking.is_late_cancellation,
        late_fee_cents=settings.late_cancel_fee_cents,
        is_first_late_cancellation=waived_before == 0,
        waive_first=settings.waive_first_late_cancel,
        hardship_waiver=hardship,
        is_no_show=booking.status == BookingStatus.NO_SHOW,
        window_hours=availability.cancellation_window_hours if availability else 24,
    )


def _reason_code(booking: Booking) -> str:
    if booking.status == BookingStatus.NO_SHOW:
        return "no_show"  # a reason code (the same word as the status)
    if booking.cancelled_by == "therapist":
        return "therapist_cancelled"
    if booking.cancelled_by not in ("client", None):
        return "cancelled_by_platform"
    return "late_cancellation" if booking.is_late_cancellation else "client_cancelled"


def _reason_text(booking: Booking, decision: Decision) -> str:
    if (
        booking.cancelled_by not in ("client", "therapist", None)
        and booking.status != BookingStatus.NO_SHOW
    ):
        return "Cancelled by Teletherapy: full refund"
    return decision.reason


def client_booking(client: User, booking_id: int) -> Booking:
    booking = db.session.get(Booking, booking_id)
    if booking is None or booking.client_id != client.id:
        raise NotFoundError("No such session.")
    return booking


def lock_client_booking(client: User, booking_id: int) -> Booking:
    booking = lock_booking(booking_id)
    if booking.client_id != client.id:
        raise NotFoundError("No such session.")
    return booking


def lock_booking(booking_id: int) -> Booking:
    booking = db.session.scalar(select(Booking).where(Booking.id == booking_id).with_for_update())
    if booking is None:
        raise NotFoundError("No such session.")
    return booking


def lock_payment(payment_id: int) -> Payment:
    line = db.session.scalar(select(Payment).where(Payment.id == payment_id).with_for_update())
    if line is None:
        raise NotFoundError("No such payment.")
    return line


def client_profile(user_id: int) -> ClientPaymentProfile:
    profile = db.session.get(ClientPaymentProfile, user_id)
    if profile is None:
        profile = ClientPaymentProfile(user_id=user_id, late_cancellations_waived=0)
        db.session.add(profile)
    return profile


def has_saved_card(user_id: int) -> bool:
    profile = db.session.get(ClientPaymentProfile, user_id)
    return bool(profile and profile.stripe_customer_id and profile.default_payment_method_id)


def latest_charge(booking_id: int) -> Payment | None:
    return db.session.scalar(
        select(Payment)
        .where(Payment.booking_id == booking_id, Payment.kind == LedgerKind.CHARGE.value)
        .order_by(Payment.id.desc())
        .limit(1)
    )


def count_charges(booking_id: int) -> int:
    return int(
        db.session.scalar(
            select(func.count(Payment.id)).where(
                Payment.booking_id == booking_id, Payment.kind == LedgerKind.CHARGE.value
            )
        )
        or 0
    )


def first_line(booking_id: int, kind: LedgerKind) -> Payment | None:
    return db.session.scalar(
        select(Payment)
        .where(Payment.booking_id == booking_id, Payment.kind == kind.value)
        .order_by(Payment.id)
        .limit(1)
    )


def lines_with_intent(intent_id: str) -> Iterable[Payment]:
    return db.session.scalars(
        select(Payment).where(
            Payment.stripe_payment_intent_id == intent_id,
            Payment.kind.in_((LedgerKind.CHARGE.value, LedgerKind.LATE_FEE.value)),
            Payment.idempotency_key.is_not(None),
        )
    ).all()


def paid_cents(booking_id: int) -> int:
    return int(
        db.session.scalar(
            select(func.coalesce(func.sum(Payment.amount_cents), 0)).where(
                Payment.booking_id == booking_id,
                Payment.kind == LedgerKind.CHARGE.value,
                Payment.status == LedgerStatus.SUCCEEDED,
            )
        )
        or 0
    )


def paid_intent(booking_id: int) -> str | None:
    return db.session.scalar(
        select(Payment.stripe_payment_intent_id)
        .where(
            Payment.booking_id == booking_id,
            Payment.kind == LedgerKind.CHARGE.value,
            Payment.status.in_(PAID),
            Payment.stripe_payment_intent_id.is_not(None),
        )
        .order_by(Payment.id.desc())
        .limit(1)
    )


def refunded_cents(intent_id: str) -> int:
    return int(
        db.session.scalar(
            select(func.coalesce(func.sum(Payment.amount_cents), 0)).where(
                Payment.stripe_payment_intent_id == intent_id,
                Payment.kind == LedgerKind.REFUND.value,
                Payment.status == LedgerStatus.SUCCEEDED,
            )
        )
        or 0
    )


def net_paid_cents(booking_id: int) -> int:
    rows = db.session.execute(
        select(Payment.kind, func.sum(Payment.amount_cents))
        .where(
            Payment.booking_id == booking_id,
            Payment.kind.in_((LedgerKind.CHARGE.value, LedgerKind.REFUND.value)),
            Payment.status.in_(PAID),
        )
        .group_by(Payment.kind)
    ).all()
    sums = {kind: int(total or 0) for kind, total in rows}
    return sums.get(LedgerKind.CHARGE.value, 0) - sums.get(LedgerKind.REFUND.value, 0)


def charge_line(booking: Booking, *, method: PaymentMethod, status: LedgerStatus) -> Payment:
    return _line(
        booking,
        kind=LedgerKind.CHARGE,
        amount_cents=booking.fee_cents,
        status=status.value,
        method=method.value,
        reason="Session fee",
        code="session_fee",
        key=None,
        intent_id=None,
    )


def _line(
    booking: Booking,
    *,
    kind: LedgerKind,
    amount_cents: int,
    status: str,
    method: str,
    reason: str,
    code: str,
    key: str | None,
    intent_id: str | None,
) -> Payment:
    assert booking.client_id is not None
    return Payment(
        booking_id=booking.id,
        client_id=booking.client_id,
        therapist_id=booking.therapist_id,
        kind=kind.value,
        amount_cents=amount_cents,
        currency=booking.currency,
        status=status,
        method=method,
        idempotency_key=key,
        stripe_payment_intent_id=intent_id,
        reason=reason,
        reason_code=code,
        attempts=0,
    )


def refund_line(
    booking: Booking,
    *,
    amount_cents: int,
    intent_id: str,
    key: str,
    reason: str,
    code: str,
    method: str,
) -> Payment:
    return _line(
        booking,
        kind=LedgerKind.REFUND,
        amount_cents=amount_cents,
        status=LedgerStatus.PENDING.value,
        method=method,
        reason=reason,
        code=code,
        key=key,
        intent_id=intent_id,
    )


def fee_line(
    booking: Booking,
    amount_cents: int,
    status: LedgerStatus,
    method: str,
    reason: str,
    code: str,
    key: str | None,
    intent_id: str | None,
) -> Payment:
    return _line(
        booking,
        kind=LedgerKind.LATE_FEE,
        amount_cents=amount_cents,
        status=status.value,
        method=method,
        reason=reason,
        code=code,
        key=key,
        intent_id=intent_id,
    )


def lattice(status: str) -> PaymentStatus:
    """Our bookkeeping states placed on the domain's payment-state lattice."""
    if status == LedgerStatus.PROCESSING:
        return PaymentStatus.PENDING
    if status == LedgerStatus.VOID:
        return PaymentStatus.UNPAID
    return PaymentStatus(status)


def advance(line: Payment, target: PaymentStatus, booking: Booking, now: datetime) -> None:
    """Move a charge or fee line to `target`, and act on money that arrived."""
    before = line.status
    lower = target in (PaymentStatus.UNPAID, PaymentStatus.PENDING, PaymentStatus.FAILED)
    if lower and before in (LedgerStatus.PROCESSING, LedgerStatus.VOID):
        return  # a sweep is on it, or the charge was dropped: a stale attempt is no news
    if target.value == before:
        return
    line.status = LedgerStatus(target.value)
    if line.kind != LedgerKind.CHARGE.value or target is not PaymentStatus.SUCCEEDED:
        return
    if booking.status == BookingStatus.HELD:
        confirm_paid(booking, now)
        return
    if booking.client_id is None or line.stripe_payment_intent_id is None:
        return
    if booking.status not in (BookingStatus.CONFIRMED, BookingStatus.COMPLETED):
        # Money arrived for a session that is gone (hold expired, or cancelled while
        # the bank was deciding): it all goes back.
        key = idempotency_key("refund", f"{booking.id}_late_{line.id}")
        reason = "Payment arrived after the session was released: full refund"
        code = "payment_after_release"
    elif db.session.scalar(
        select(Payment.id).where(
            Payment.booking_id == booking.id,
            Payment.kind == LedgerKind.CHARGE.value,
            Payment.id != line.id,
            Payment.status.in_(PAID),
        )
    ):
        # A session is never paid twice (an abandoned attempt the bank completed later).
        key = idempotency_key("refund", f"{booking.id}_duplicate_{line.id}")
        reason = "Paid twice for one session: refunded"
        code = "duplicate_payment"
    else:
        return
    if db.session.scalar(select(Payment.id).where(Payment.idempotency_key == key)) is None:
        db.session.add(
            refund_line(
                booking,
                amount_cents=line.amount_cents,
                intent_id=line.stripe_payment_intent_id,
                key=key,
                reason=reason,
                code=code,
                method=line.method,
            )
        )


def confirm_paid(booking: Booking, now: datetime) -> None:
    # Paid while still held (the booking row is locked): confirmed even if the hold
    # lapsed a moment ago, since nobody else could have taken the time meanwhile.
    lifecycle.confirm(booking, now=now)
