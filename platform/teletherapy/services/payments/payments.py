"""Fee handling for bookings: paying, refunds, late-cancel fees, webhooks, receipts, superbills.

Money moves in two steps. A use case records what must happen as ledger lines
(`Payment` rows) in its own transaction; Stripe is called outside any transaction,
with the line's deterministic idempotency key ("pay-12", "refund-12",
"late-fee-12"), and the result is recorded afterwards. A retry after a crash
repeats the same request, so money never moves twice. A payment is recorded as
succeeded only from Stripe itself: the answer to a server-side call, a
retrieval, or a verified webhook, never from the browser's word.

With no Stripe keys configured every session is "pay at the session".
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import gettext
from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError

from teletherapy.domain.errors import ConflictError, NotFoundError, ValidationError
from teletherapy.domain.payments import (
    PAYMENT_EVENT_TYPES,
    Decision,
    PaymentMethod,
    PaymentStatus,
    Waiver,
    apply_payment_event,
    cpt_code,
    refund_for_cancellation,
)
from teletherapy.extensions import db
from teletherapy.gateways.payments import (
    CardDeclined,
    PaymentGateway,
    PaymentGatewayError,
    PaymentIntentResult,
    SetupIntentResult,
    StripeGateway,
    WebhookEvent,
    idempotency_key,
)
from teletherapy.i18n import speaking_to
from teletherapy.models import (
    AvailabilitySettings,
    Booking,
    ClientPaymentProfile,
    LedgerKind,
    LedgerStatus,
    Payment,
    StripeEvent,
    TherapistPaymentSettings,
    TherapistProfile,
    User,
)
from teletherapy.services.bookings import booking as booking_service
from teletherapy.services.calendars import invites
from teletherapy.services.messaging import outbox

logger = logging.getLogger(__name__)

# A sweep that died while calling Stripe leaves its line "processing"; after this
# lease the line is taken again (same idempotency key, so no double movement).
PROCESSING_LEASE = timedelta(minutes=10)
MAX_ATTEMPTS = 8
# Statuses of a charge line that mean the client has (or had) paid.
_PAID = (
    LedgerStatus.SUCCEEDED.value,
    LedgerStatus.PARTIALLY_REFUNDED.value,
    LedgerStatus.REFUNDED.value,
)
_CARD_METHODS = (PaymentMethod.PAY_NOW.value, PaymentMethod.CARD_ON_FILE.value)


# --- configuration ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StripeConfig:
    secret_key: str
    publishable_key: str
    webhook_secret: str | None
    api_base: str | None

    @property
    def js_url(self) -> str:
        """Stripe.js: Stripe's own, or the replacement an emulator serves on its port."""
        if self.api_base:
            return self.api_base.rstrip("/") + "/js.stripe.com/v3/"
        return "https://js.stripe.com/v3/"


def stripe_config(config: Mapping[str, Any]) -> StripeConfig | None:
    """The Stripe settings, or None when cards are not taken (no secret or publishable key)."""
    secret = config.get("STRIPE_SECRET_KEY")
    publishable = config.get("STRIPE_PUBLISHABLE_KEY")
    if not secret or not publishable:
        return None
    return StripeConfig(
        secret_key=str(secret),
        publishable_key=str(publishable),
        webhook_secret=config.get("STRIPE_WEBHOOK_SECRET") or None,
        api_base=config.get("STRIPE_API_BASE") or None,
    )


def gateway_from_config(config: Mapping[str, Any]) -> PaymentGateway | None:
    settings = stripe_config(config)
    if settings is None:
        return None
    return StripeGateway(
        settings.secret_key, api_base=settings.api_base, webhook_secret=settings.webhook_secret
    )


# --- therapist settings -------------------------------------------------------------------


def get_settings(*, therapist_id: int) -> TherapistPaymentSettings:
    """A therapist's payment settings (defaults, not stored, until they save some)."""
    row = db.session.get(TherapistPaymentSettings, therapist_id)
    if row is None:
        row = TherapistPaymentSettings(
            therapist_id=therapist_id,
            accepts_pay_now=False,
            accepts_card_on_file=False,
            accepts_pay_at_session=True,
            late_cancel_fee_cents=0,
            waive_first_late_cancel=True,
        )
    return row


def update_settings(
    *,
    therapist: User,
    accepts_pay_now: bool,
    accepts_card_on_file: bool,
    accepts_pay_at_session: bool,
    late_cancel_fee_cents: int,
    waive_first_late_cancel: bool,
) -> TherapistPaymentSettings:
    """Save which ways to pay a therapist accepts and their late-cancel policy; one commit."""
    therapist_id = _therapist_id(therapist)
    errors: dict[str, list[str]] = {}
    if not (accepts_pay_now or accepts_card_on_file or accepts_pay_at_session):
        errors["accepts_pay_at_session"] = ["Accept at least one way to pay."]
    if late_cancel_fee_cents < 0 or late_cancel_fee_cents > 100_000:
        errors["late_cancel_fee"] = ["Enter a fee between $0 and $1,000."]
    if errors:
        raise ValidationError("Payment settings not saved.", errors=errors)
    row = db.session.get(TherapistPaymentSettings, therapist_id)
    if row is None:
        row = TherapistPaymentSettings(therapist_id=therapist_id)
        db.session.add(row)
    row.accepts_pay_now = accepts_pay_now
    row.accepts_card_on_file = accepts_card_on_file
    row.accepts_pay_at_session = accepts_pay_at_session
    row.late_cancel_fee_cents = late_cancel_fee_cents
    row.waive_first_late_cancel = waive_first_late_cancel
    db.session.commit()
    return row


def offered_methods(*, therapist_id: int, stripe_enabled: bool) -> list[PaymentMethod]:
    """What a client may choose: the therapist's choices that work here (never empty)."""
    settings = get_settings(therapist_id=therapist_id)
    methods: list[PaymentMethod] = []
    if stripe_enabled and settings.accepts_pay_now:
        methods.append(PaymentMethod.PAY_NOW)
    if stripe_enabled and settings.accepts_card_on_file:
        methods.append(PaymentMethod.CARD_ON_FILE)
    if settings.accepts_pay_at_session or not methods:
        methods.append(PaymentMethod.PAY_AT_SESSION)
    return methods


# --- paying for a booking -----------------------------------------------------------------

# How long a new booking is held while the client pays by card.
PAYMENT_HOLD_MINUTES = 15


def payment_hold_minutes(*, therapist_id: int, stripe_enabled: bool) -> int | None:
    """Hold a new booking for payment when the therapist takes cards; None: confirm at once.

    The pay page then offers every method the therapist accepts (paying at the
    session included), so a hold never forces a card on anyone.
    """
    methods = offered_methods(therapist_id=therapist_id, stripe_enabled=stripe_enabled)
    return None if methods == [PaymentMethod.PAY_AT_SESSION] else PAYMENT_HOLD_MINUTES


@dataclass(frozen=True, slots=True)
class PaymentOutcome:
    """What the pay page shows next: succeeded, saved, requires_action, declined or pending."""

    status: str
    booking_status: str
    message: str = ""
    client_secret: str | None = None


@dataclass(frozen=True, slots=True)
class PayPage:
    booking: Booking
    therapist_name: str
    methods: list[PaymentMethod]
    charge: Payment | None
    # Set when the bank asked the client to authenticate a payment already made.
    action_client_secret: str | None = None


def get_pay_page(
    *, client: User, booking_id: int, gateway: PaymentGateway | None, now: datetime
) -> PayPage:
    """What the pay page needs: the held booking, or a confirmed one whose charge needs the
    client (authentication asked by the bank, or a declined off-session charge)."""
    booking = _client_booking(client, booking_id)
    charge = _latest_charge(booking.id)
    if not _is_payable(booking, charge):
        raise NotFoundError("This session has nothing to pay.")
    secret = None
    if (
        gateway is not None
        and charge is not None
        and charge.status == LedgerStatus.PENDING.value
        and charge.stripe_payment_intent_id
    ):
        intent_id = charge.stripe_payment_intent_id
        db.session.rollback()
        try:
            intent = gateway.retrieve_payment_intent(intent_id)
        except PaymentGatewayError:
            logger.warning("pay page: payment intent %s could not be read", intent_id)
        else:
            if intent.needs_action:
                secret = intent.client_secret
    therapist = db.session.get(TherapistProfile, booking.therapist_id)
    methods = offered_methods(therapist_id=booking.therapist_id, stripe_enabled=gateway is not None)
    if booking.status != "held" and charge is not None:
        methods = [PaymentMethod(charge.method)]
    return PayPage(
        booking=booking,
        therapist_name=therapist.display_name if therapist else "",
        methods=methods,
        charge=charge,
        action_client_secret=secret,
    )


def choose_pay_at_session(
    *, client: User, booking_id: int, stripe_enabled: bool, now: datetime
) -> Booking:
    """Confirm a held booking to be paid at the session (no card taken); one commit."""
    booking = _lock_client_booking(client, booking_id)
    _require_held(booking, now)
    offered = offered_methods(therapist_id=booking.therapist_id, stripe_enabled=stripe_enabled)
    if PaymentMethod.PAY_AT_SESSION not in offered:
        raise ValidationError(
            "Your therapist asks for a card.",
            errors={"method": ["Your therapist does not take payment at the session."]},
        )
    db.session.add(
        _charge_line(booking, method=PaymentMethod.PAY_AT_SESSION, status=LedgerStatus.UNPAID)
    )
    _confirm(booking, now)
    db.session.commit()
    return booking


def start_card_setup(
    *, client: User, booking_id: int, method: str, gateway: PaymentGateway, now: datetime
) -> SetupIntentResult:
    """A SetupIntent for the page's `confirmCardSetup` (pay now, or keep a card on file)."""
    booking = _client_booking(client, booking_id)
    _card_method(booking, method, gateway)
    if booking.status == "held":
        _require_held(booking, now)
    elif not _is_payable(booking, _latest_charge(booking.id)):
        raise NotFoundError("This session has nothing to pay.")
    customer_id = _ensure_customer(client.id, gateway)
    return gateway.create_setup_intent(customer_id)


def submit_card(
    *,
    client: User,
    booking_id: int,
    method: str,
    payment_method_id: str,
    gateway: PaymentGateway,
    now: datetime,
) -> PaymentOutcome:
    """The card the page saved with `confirmCardSetup`: keep it on file, or charge it now.

    Paying now creates a PaymentIntent confirmed here with the saved card: it
    succeeds, is declined, or asks for 3-D Secure, which the page then completes
    with `confirmCardPayment` and reports through `verify_payment`.
    """
    if not payment_method_id.startswith("pm_") or len(payment_method_id) > 255:
        raise ValidationError("No card given.", errors={"payment_method_id": ["Enter a card."]})
    booking = _lock_client_booking(client, booking_id)
    chosen = _card_method(booking, method, gateway)
    previous = _latest_charge(booking.id)
    if booking.status == "held":
        _require_held(booking, now)
    elif not _is_payable(booking, previous):
        raise NotFoundError("This session has nothing to pay.")
    profile = _profile(client.id)
    profile.default_payment_method_id = payment_method_id

    if chosen is PaymentMethod.CARD_ON_FILE:
        # A new line unless one is waiting already; after a declined off-session
        # charge the new line is charged again (with its own idempotency key).
        if previous is not None and previous.status == LedgerStatus.PENDING.value:
            previous.status = LedgerStatus.FAILED.value
            previous.reason = "Payment not completed: another card was saved"
        if previous is None or previous.status != LedgerStatus.UNPAID.value:
            db.session.add(
                _charge_line(booking, method=PaymentMethod.CARD_ON_FILE, status=LedgerStatus.UNPAID)
            )
        if booking.status == "held":
            _confirm(booking, now)
        db.session.commit()
        return PaymentOutcome("saved", booking.status, "Your card is saved for this session.")

    if previous is not None and previous.status == LedgerStatus.PENDING.value:
        if previous.stripe_payment_intent_id is None and previous.created_at > now - (
            PROCESSING_LEASE
        ):
            # A double click, or Stripe's answer was lost: the outcome is still unknown,
            # and a verified webhook (which finds the line by booking) will settle it.
            raise ConflictError(
                "A payment for this session is already on its way; "
                "please check your payments in a few minutes.",
                extra={"reason": "in_progress"},
            )
        # An abandoned 3-D Secure challenge (or an attempt Stripe never confirmed);
        # should the bank complete it after all, `_advance` refunds the second payment.
        previous.status = LedgerStatus.FAILED.value
        previous.reason = "Payment not completed: another card was used"

    # Pay now: a new ledger line per attempt, committed before Stripe is called.
    attempt = _count_charges(booking.id) + 1
    key = idempotency_key("pay", booking.id if attempt == 1 else f"{booking.id}_{attempt}")
    line = _charge_line(booking, method=PaymentMethod.PAY_NOW, status=LedgerStatus.PENDING)
    line.idempotency_key = key
    line.attempts = 1
    line.created_at = line.updated_at = now
    db.session.add(line)
    customer_id = profile.stripe_customer_id
    amount, currency = booking.fee_cents, booking.currency
    db.session.flush()
    line_id = line.id
    db.session.commit()  # Stripe is called with no transaction open
    try:
        intent = gateway.create_payment_intent(
            booking_id=booking_id,
            amount_cents=amount,
            currency=currency,
            customer_id=customer_id,
            idempotency_key=key,
            payment_method_id=payment_method_id,
        )
    except CardDeclined as exc:
        line = _lock_payment(line_id)
        line.status = LedgerStatus.FAILED.value
        line.stripe_payment_intent_id = exc.payment_intent_id or line.stripe_payment_intent_id
        line.reason = "Card declined"
        line.last_error = (exc.decline_code or exc.code or "card_declined")[:300]
        db.session.commit()
        return PaymentOutcome("declined", booking.status, exc.message)
    except PaymentGatewayError:
        # Stripe may or may not have taken the payment: the line stays pending, and
        # the webhook that Stripe sends if it did finds it by booking id.
        line = _lock_payment(line_id)
        line.last_error = "payment provider unavailable: outcome unknown"
        db.session.commit()
        raise
    return _record_intent(line_id, intent, now)


def verify_payment(
    *, client: User, booking_id: int, gateway: PaymentGateway, now: datetime
) -> PaymentOutcome:
    """After `confirmCardPayment` in the page: ask Stripe what really happened."""
    booking = _client_booking(client, booking_id)
    charge = _latest_charge(booking.id)
    if charge is None or not charge.stripe_payment_intent_id:
        raise NotFoundError("No payment to verify for this session.")
    charge_id, intent_id = charge.id, charge.stripe_payment_intent_id
    db.session.rollback()
    intent = gateway.retrieve_payment_intent(intent_id)
    return _record_intent(charge_id, intent, now)


def _record_intent(line_id: int, intent: PaymentIntentResult, now: datetime) -> PaymentOutcome:
    """Record what Stripe said of a PaymentIntent (direct API confirmation); one commit."""
    line = _lock_payment(line_id)
    booking = _lock_booking(line.booking_id)
    if line.stripe_payment_intent_id not in (None, intent.id):
        raise ConflictError("This payment is for another attempt.", extra={"reason": "stale"})
    if intent.amount_cents and intent.amount_cents != line.amount_cents:
        logger.warning("payment %s: intent %s amount differs, ignored", line.id, intent.id)
        raise ConflictError("The payment amount does not match.", extra={"reason": "amount"})
    line.stripe_payment_intent_id = intent.id
    if intent.is_succeeded:
        _advance(line, PaymentStatus.SUCCEEDED, booking, now)
        message = "Payment received. Your session is booked."
        status = "succeeded"
    elif intent.needs_action:
        status, message = "requires_action", "Your bank asks you to confirm this payment."
    elif intent.status in ("requires_payment_method", "failed", "canceled"):
        if line.status == LedgerStatus.PENDING.value:
            line.status = LedgerStatus.FAILED.value
            line.reason = "Payment not completed"
            line.last_error = (intent.failure_code or intent.status)[:300]
        status = "declined"
        message = intent.failure_message or "The payment was not completed. Try another card."
    else:
        status, message = "pending", "Your payment is being processed."
    db.session.commit()
    secret = intent.client_secret if status == "requires_action" else None
    if line.status in _PAID:
        status = "succeeded"
    return PaymentOutcome(status, booking.status, message, secret)


# --- the therapist's side -----------------------------------------------------------------


def mark_paid_at_session(*, therapist: User, booking_id: int, now: datetime) -> Payment:
    """The therapist took payment in person: the session's charge (or owed fee) is paid."""
    therapist_id = _therapist_id(therapist)
    booking = _lock_booking(booking_id)
    if booking.therapist_id != therapist_id or booking.client_id is None:
        raise NotFoundError("No such session.")
    fee = _line(booking.id, LedgerKind.LATE_FEE)
    if (
        booking.status in ("cancelled", "no_show")
        and fee is not None
        and fee.method == PaymentMethod.PAY_AT_SESSION.value
        and fee.status == LedgerStatus.UNPAID.value
    ):
        fee.status = LedgerStatus.SUCCEEDED.value
        fee.reason = fee.reason + " (paid in person)"
        db.session.commit()
        return fee
    if booking.status not in ("confirmed", "completed"):
        raise ConflictError("Only a booked session can be marked paid.", extra={"reason": "status"})
    charge = _latest_charge(booking.id)
    if charge is None:
        charge = _charge_line(
            booking, method=PaymentMethod.PAY_AT_SESSION, status=LedgerStatus.UNPAID
        )
        db.session.add(charge)
    if charge.method != PaymentMethod.PAY_AT_SESSION.value:
        raise ConflictError("This session is paid by card.", extra={"reason": "method"})
    if charge.status in _PAID:
        raise ConflictError("This session is already paid.", extra={"reason": "paid"})
    charge.status = LedgerStatus.SUCCEEDED.value
    charge.reason = "Paid at the session"
    db.session.commit()
    return charge


def waive_late_fee(*, therapist: User, booking_id: int, now: datetime) -> Payment:
    """A hardship waiver, in one click: the fee is dropped, or refunded if already taken."""
    therapist_id = _therapist_id(therapist)
    booking = _lock_booking(booking_id)
    if booking.therapist_id != therapist_id:
        raise NotFoundError("No such session.")
    fee = _line(booking.id, LedgerKind.LATE_FEE)
    if fee is None or fee.status in (LedgerStatus.WAIVED.value, LedgerStatus.VOID.value):
        raise ConflictError("There is no fee to waive.", extra={"reason": "no_fee"})
    if fee.status == LedgerStatus.PROCESSING.value:
        raise ConflictError(
            "The fee is being charged right now; try again in a minute.",
            extra={"reason": "processing"},
        )
    decision = _decide(booking, hardship=True)
    if fee.status in _PAID:
        intent_id = fee.stripe_payment_intent_id or _paid_intent(booking.id)
        if intent_id is not None:
            db.session.add(
                _refund_line(
                    booking,
                    amount_cents=fee.amount_cents,
                    intent_id=intent_id,
                    key=idempotency_key("refund", f"{booking.id}_waiver"),
                    reason="Late-cancel fee waived for hardship: refunded",
                    code="hardship_waiver",
                    method=fee.method,
                )
            )
    fee.status = LedgerStatus.WAIVED.value
    fee.reason = decision.reason
    fee.reason_code = "hardship_waiver"
    db.session.commit()
    return fee


# --- cancellations ------------------------------------------------------------------------


def on_booking_cancelled(*, booking: Booking, now: datetime) -> None:
    """Record the refund or late-cancel fee a cancellation (or no-show) causes.

    Called inside the booking service's transaction: it only adds ledger lines
    (never commits, never calls Stripe); `execute_pending` moves the money.
    """
    if booking.client_id is None or booking.fee_cents <= 0:
        return
    if _line(booking.id, LedgerKind.REFUND) or _line(booking.id, LedgerKind.LATE_FEE):
        return  # already decided (a repeated hook)
    charge = _latest_charge(booking.id)
    decision = _decide(booking, hardship=False)
    paid_intent = _paid_intent(booking.id)
    method = charge.method if charge is not None else PaymentMethod.PAY_AT_SESSION.value
    if charge is not None and charge.status == LedgerStatus.UNPAID.value:
        # Nothing collected yet: the session's own charge never will be.
        charge.status = LedgerStatus.VOID.value
    code = _reason_code(booking)
    if decision.refund_cents > 0 and paid_intent is not None:
        db.session.add(
            _refund_line(
                booking,
                amount_cents=decision.refund_cents,
                intent_id=paid_intent,
                key=idempotency_key("refund", booking.id),
                reason=_reason_text(booking, decision),
                code=code,
                method=method,
            )
        )
    if decision.waiver is Waiver.FIRST_LATE_CANCELLATION:
        profile = _profile(booking.client_id)
        profile.late_cancellations_waived += 1
        db.session.add(
            _fee_line(booking, 0, LedgerStatus.WAIVED, method, decision.reason, code, None, None)
        )
    elif decision.fee_cents > 0:
        kept = decision.fee_cents - decision.charge_cents
        if decision.charge_cents == 0 and kept > 0:
            # Kept out of what was paid: no money moves.
            db.session.add(
                _fee_line(
                    booking, kept, LedgerStatus.SUCCEEDED, method, decision.reason, code, None, None
                )
            )
        elif method == PaymentMethod.CARD_ON_FILE.value and _saved_card(booking.client_id):
            db.session.add(
                _fee_line(
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
                _fee_line(
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


def _decide(booking: Booking, *, hardship: bool) -> Decision:
    assert booking.client_id is not None
    settings = get_settings(therapist_id=booking.therapist_id)
    profile = db.session.get(ClientPaymentProfile, booking.client_id)
    waived_before = profile.late_cancellations_waived if profile is not None else 0
    availability = db.session.get(AvailabilitySettings, booking.therapist_id)
    by_therapist = booking.cancelled_by not in ("client", None) and booking.status != "no_show"
    paid = _paid_cents(booking.id)
    return refund_for_cancellation(
        price_cents=booking.fee_cents,
        paid_cents=min(paid, booking.fee_cents),
        cancelled_by="therapist" if by_therapist else "client",
        is_late=booking.is_late_cancellation,
        late_fee_cents=settings.late_cancel_fee_cents,
        is_first_late_cancellation=waived_before == 0,
        waive_first=settings.waive_first_late_cancel,
        hardship_waiver=hardship,
        is_no_show=booking.status == "no_show",
        window_hours=availability.cancellation_window_hours if availability else 24,
    )


def _reason_code(booking: Booking) -> str:
    if booking.status == "no_show":
        return "no_show"
    if booking.cancelled_by == "therapist":
        return "therapist_cancelled"
    if booking.cancelled_by not in ("client", None):
        return "cancelled_by_platform"
    return "late_cancellation" if booking.is_late_cancellation else "client_cancelled"


def _reason_text(booking: Booking, decision: Decision) -> str:
    if booking.cancelled_by not in ("client", "therapist", None) and booking.status != "no_show":
        return "Cancelled by Teletherapy: full refund"
    return decision.reason


# --- sweeps (jobs) ------------------------------------------------------------------------


@dataclass
class SweepCounts:
    done: int = 0
    failed: int = 0
    needs_client: int = 0
    expired: int = 0


def expire_stale_holds(*, now: datetime) -> int:
    """Release held bookings whose hold ran out unpaid (status "expired"); one commit."""
    result = db.session.execute(
        update(Booking)
        .where(Booking.status == "held", Booking.hold_expires_at <= now)
        .values(status="expired", updated_at=now)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    count = int(getattr(result, "rowcount", 0) or 0)
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
        line = _lock_payment(line_id)
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
    line = _lock_payment(line.id)
    line.stripe_refund_id = result.id
    line.status = (
        LedgerStatus.FAILED.value if result.status in ("failed", "canceled") else "succeeded"
    )
    booking = _lock_booking(line.booking_id)
    if line.status == LedgerStatus.SUCCEEDED.value:
        for paid in _lines_with_intent(intent_id):
            if paid.status == LedgerStatus.WAIVED.value:
                continue  # a fee waived for hardship stays shown as waived
            refunded = _refunded_cents(intent_id)
            _advance(
                paid,
                apply_payment_event(
                    _lattice(paid.status),
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
        line.status = LedgerStatus.UNPAID.value
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
    line = _lock_payment(line_id)
    line.stripe_payment_intent_id = intent.id
    if intent.is_succeeded:
        line.status = LedgerStatus.SUCCEEDED.value
    else:
        # The fee stays owed: shown to both parties, settled with the therapist.
        line.status = LedgerStatus.FAILED.value
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
        Booking.status.in_(("confirmed", "completed")), Booking.end_at <= now
    )
    for line_id in _claim(
        (Payment.kind == LedgerKind.CHARGE.value)
        & (Payment.method == PaymentMethod.CARD_ON_FILE.value)
        & Payment.booking_id.in_(done_sessions),
        now=now,
        limit=limit,
        from_status=LedgerStatus.UNPAID,
    ):
        line = _lock_payment(line_id)
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
            attempt = _count_charges(line.booking_id)
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
        line = _lock_payment(line_id)
        booking = _lock_booking(line.booking_id)
        line.stripe_payment_intent_id = intent.id
        if intent.is_succeeded:
            _advance(line, PaymentStatus.SUCCEEDED, booking, now)
            counts.done += 1
        elif intent.status == "processing":
            line.status = LedgerStatus.PENDING.value
            counts.done += 1
        else:
            line.status = (
                LedgerStatus.PENDING.value if intent.needs_action else LedgerStatus.FAILED.value
            )
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
        (Payment.status == LedgerStatus.PROCESSING.value) & (Payment.updated_at < stale),
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
                status=LedgerStatus.PROCESSING.value,
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
    line = _lock_payment(line_id)
    if line.status == LedgerStatus.PROCESSING.value:
        line.status = status.value
    line.last_error = (error or (f"{type(exc).__name__}" if exc else "failed"))[:300]
    db.session.commit()


def _email_pay_link(
    line: Payment, booking: Booking, *, needs_authentication: bool, now: datetime
) -> None:
    client = db.session.get(User, line.client_id)
    if client is None:
        return
    link = invites.public_url(f"/payments/bookings/{booking.id}/pay")
    with speaking_to(client):
        why = (
            gettext("Your bank asks you to confirm the payment for your session.")
            if needs_authentication
            else gettext("We could not charge the card you saved for your session.")
        )
        subject = gettext("Please complete the payment for your session")
        body_text = "\n\n".join(
            [
                gettext("Hello %(name)s,", name=client.display_name),
                why,
                gettext("Pay here: %(link)s", link=link),
                gettext("In a crisis, call or text 988 (press 2 for Spanish)."),
            ]
        )
    outbox.enqueue(
        kind="payment_action_required",
        to_address=client.email,
        subject=subject,
        body_text=body_text + "\n",
        user_id=client.id,
        booking_id=booking.id,
        due_at=now,
        dedupe_key=f"payment-action-{line.id}-{line.attempts}",
    )


# --- webhooks -----------------------------------------------------------------------------


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
        latest = _latest_charge(int(event.booking_id))
        if (
            latest is not None
            and latest.stripe_payment_intent_id is None
            and latest.status in (LedgerStatus.PENDING.value, LedgerStatus.PROCESSING.value)
        ):
            line = _lock_payment(latest.id)
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
    target = apply_payment_event(_lattice(line.status), event.type, is_partial_refund=partial)
    booking = _lock_booking(line.booking_id)
    _advance(line, target, booking, now)
    return "processed"


# --- reading: the payments page, receipts, superbills, earnings ---------------------------


@dataclass(frozen=True, slots=True)
class LedgerLine:
    payment: Payment
    booking: Booking
    client_name: str
    therapist_name: str


def list_ledger(*, actor: User) -> list[LedgerLine]:
    """Charges, refunds and fees the person is party to, newest first."""
    query = select(Payment, Booking).join(Booking, Booking.id == Payment.booking_id)
    if actor.role == "therapist":
        query = query.where(Payment.therapist_id == _therapist_id(actor))
    else:
        query = query.where(Payment.client_id == actor.id)
    rows = db.session.execute(query.order_by(Payment.created_at.desc(), Payment.id.desc())).all()
    return _with_names([(p, b) for p, b in rows])


def get_receipt(*, actor: User, payment_id: int) -> LedgerLine:
    payment = db.session.get(Payment, payment_id)
    if payment is None or not _is_party(actor, payment.client_id, payment.therapist_id):
        raise NotFoundError("No such payment.")
    booking = db.session.get(Booking, payment.booking_id)
    assert booking is not None
    return _with_names([(payment, booking)])[0]


def unpaid_sessions(*, therapist: User, now: datetime) -> list[Booking]:
    """Sessions that took place to be paid at the session and not marked paid yet."""
    therapist_id = _therapist_id(therapist)
    paid_or_card = select(Payment.booking_id).where(
        Payment.kind == LedgerKind.CHARGE.value,
        or_(Payment.status.in_(_PAID), Payment.method.in_(_CARD_METHODS)),
    )
    return list(
        db.session.scalars(
            select(Booking)
            .where(
                Booking.therapist_id == therapist_id,
                Booking.client_id.is_not(None),
                Booking.status.in_(("confirmed", "completed")),
                Booking.fee_cents > 0,
                Booking.start_at <= now,
                Booking.id.not_in(paid_or_card),
            )
            .order_by(Booking.start_at)
        )
    )


@dataclass(frozen=True, slots=True)
class SuperbillLine:
    booking_id: int
    service_date: date
    cpt: str
    minutes: int
    fee_cents: int
    paid_cents: int
    setting: str


@dataclass(frozen=True, slots=True)
class SuperbillProvider:
    name: str
    license_type: str
    license_number: str
    license_state: str
    npi: str
    lines: list[SuperbillLine]

    @property
    def total_paid_cents(self) -> int:
        return sum(line.paid_cents for line in self.lines)

    @property
    def total_fee_cents(self) -> int:
        return sum(line.fee_cents for line in self.lines)


@dataclass(frozen=True, slots=True)
class Superbill:
    client_name: str
    client_email: str
    period: str
    issued_on: date
    providers: list[SuperbillProvider] = field(default_factory=list)


def superbill(
    *,
    client: User,
    now: datetime,
    booking_id: int | None = None,
    month: str | None = None,
) -> Superbill:
    """Sessions that took place, with CPT codes and amounts paid, per therapist."""
    zone = ZoneInfo(client.time_zone)
    query = select(Booking).where(
        Booking.client_id == client.id,
        Booking.status.in_(("confirmed", "completed")),
        Booking.start_at <= now,
    )
    if booking_id is not None:
        query = query.where(Booking.id == booking_id)
        period = f"Session #{booking_id}"
    elif month is not None:
        first = _parse_month(month)
        start = datetime(first.year, first.month, 1, tzinfo=zone)
        end = datetime(first.year + first.month // 12, first.month % 12 + 1, 1, tzinfo=zone)
        query = query.where(Booking.start_at >= start, Booking.start_at < end)
        period = start.strftime("%B %Y")
    else:
        raise ValidationError("Choose a session or a month.", errors={"month": ["Required."]})
    bookings = list(db.session.scalars(query.order_by(Booking.start_at)))
    if booking_id is not None and not bookings:
        raise NotFoundError("No such session.")
    by_therapist: dict[int, list[SuperbillLine]] = {}
    for booking in bookings:
        minutes = int((booking.end_at - booking.start_at).total_seconds() // 60)
        by_therapist.setdefault(booking.therapist_id, []).append(
            SuperbillLine(
                booking_id=booking.id,
                service_date=booking.start_at.astimezone(ZoneInfo(booking.time_zone)).date(),
                cpt=cpt_code(minutes, booking.group_id is not None),
                minutes=minutes,
                fee_cents=booking.fee_cents,
                paid_cents=_net_paid_cents(booking.id),
                setting=booking.setting,
            )
        )
    providers = []
    for therapist_id, lines in by_therapist.items():
        profile = db.session.get(TherapistProfile, therapist_id)
        assert profile is not None
        providers.append(
            SuperbillProvider(
                name=profile.display_name,
                license_type=profile.license_type,
                license_number=profile.license_number,
                license_state=profile.license_state or "",
                npi=profile.npi or "",
                lines=lines,
            )
        )
    return Superbill(
        client_name=client.display_name,
        client_email=client.email,
        period=period,
        issued_on=now.astimezone(zone).date(),
        providers=providers,
    )


@dataclass(frozen=True, slots=True)
class BandEarnings:
    band: str
    sessions: int
    collected_cents: int


@dataclass(frozen=True, slots=True)
class Earnings:
    bands: list[BandEarnings]
    sessions: int
    collected_cents: int
    refunded_cents: int
    fees_cents: int

    @property
    def net_cents(self) -> int:
        return self.collected_cents - self.refunded_cents


def earnings(*, therapist: User, now: datetime) -> Earnings:
    """Sessions held and money by fee band, with refunds and late-cancel fees."""
    therapist_id = _therapist_id(therapist)
    sessions = dict(
        db.session.execute(
            select(Booking.fee_band, func.count(Booking.id))
            .where(
                Booking.therapist_id == therapist_id,
                Booking.client_id.is_not(None),
                Booking.status.in_(("confirmed", "completed")),
                Booking.start_at <= now,
            )
            .group_by(Booking.fee_band)
        ).all()
    )
    collected_by_band = dict(
        db.session.execute(
            select(Booking.fee_band, func.sum(Payment.amount_cents))
            .join(Booking, Booking.id == Payment.booking_id)
            .where(
                Payment.therapist_id == therapist_id,
                Payment.kind == LedgerKind.CHARGE.value,
                Payment.status.in_(_PAID),
            )
            .group_by(Booking.fee_band)
        ).all()
    )
    sums = dict(
        db.session.execute(
            select(Payment.kind, func.sum(Payment.amount_cents))
            .where(
                Payment.therapist_id == therapist_id,
                Payment.status.in_(_PAID),
                Payment.kind.in_((LedgerKind.REFUND.value, LedgerKind.LATE_FEE.value)),
            )
            .group_by(Payment.kind)
        ).all()
    )
    # A fee kept out of a payment is already in `collected`; one charged on its own is not.
    separate_fees = db.session.scalar(
        select(func.coalesce(func.sum(Payment.amount_cents), 0)).where(
            Payment.therapist_id == therapist_id,
            Payment.kind == LedgerKind.LATE_FEE.value,
            Payment.status.in_(_PAID),
            or_(
                Payment.idempotency_key.is_not(None),
                Payment.method == PaymentMethod.PAY_AT_SESSION.value,
            ),
        )
    )
    bands = sorted(set(sessions) | set(collected_by_band), key=lambda b: (b is None, b or ""))
    return Earnings(
        bands=[
            BandEarnings(
                band=band or "—",
                sessions=int(sessions.get(band, 0)),
                collected_cents=int(collected_by_band.get(band) or 0),
            )
            for band in bands
        ],
        sessions=int(sum(sessions.values())),
        collected_cents=int(sum(int(v or 0) for v in collected_by_band.values()))
        + int(separate_fees or 0),
        refunded_cents=int(sums.get(LedgerKind.REFUND.value) or 0),
        fees_cents=int(sums.get(LedgerKind.LATE_FEE.value) or 0),
    )


# --- helpers ------------------------------------------------------------------------------


def _therapist_id(user: User) -> int:
    if user.therapist_id is None:
        raise NotFoundError("No therapist profile.")
    return user.therapist_id


def _is_party(actor: User, client_id: int | None, therapist_id: int) -> bool:
    if actor.role == "therapist":
        return actor.therapist_id == therapist_id
    return actor.role == "client" and actor.id == client_id


def _client_booking(client: User, booking_id: int) -> Booking:
    booking = db.session.get(Booking, booking_id)
    if booking is None or booking.client_id != client.id:
        raise NotFoundError("No such session.")
    return booking


def _lock_client_booking(client: User, booking_id: int) -> Booking:
    booking = _lock_booking(booking_id)
    if booking.client_id != client.id:
        raise NotFoundError("No such session.")
    return booking


def _lock_booking(booking_id: int) -> Booking:
    booking = db.session.scalar(select(Booking).where(Booking.id == booking_id).with_for_update())
    if booking is None:
        raise NotFoundError("No such session.")
    return booking


def _lock_payment(payment_id: int) -> Payment:
    line = db.session.scalar(select(Payment).where(Payment.id == payment_id).with_for_update())
    if line is None:
        raise NotFoundError("No such payment.")
    return line


def _require_held(booking: Booking, now: datetime) -> None:
    if booking.status != "held":
        raise ConflictError("This session is not waiting for payment.", extra={"reason": "status"})
    if booking.hold_expires_at is not None and booking.hold_expires_at <= now:
        raise ConflictError(
            "The time we held for you has run out; please book again.",
            extra={"reason": "hold_expired"},
        )


def _is_payable(booking: Booking, charge: Payment | None) -> bool:
    if booking.status == "held":
        return True
    return (
        booking.status in ("confirmed", "completed")
        and charge is not None
        and charge.method in _CARD_METHODS
        and charge.status in (LedgerStatus.PENDING.value, LedgerStatus.FAILED.value)
    )


def _card_method(booking: Booking, method: str, gateway: PaymentGateway | None) -> PaymentMethod:
    try:
        chosen = PaymentMethod(method)
    except ValueError:
        chosen = None
    offered = offered_methods(therapist_id=booking.therapist_id, stripe_enabled=gateway is not None)
    charge = _latest_charge(booking.id)
    if booking.status != "held" and charge is not None:
        offered = [PaymentMethod(charge.method)]
    if chosen is None or chosen not in offered or chosen.value not in _CARD_METHODS:
        raise ValidationError(
            "Choose a way to pay your therapist accepts.",
            errors={"method": ["Choose a way to pay your therapist accepts."]},
        )
    if booking.fee_cents <= 0:
        raise ConflictError("This session is free.", extra={"reason": "free"})
    return chosen


def _profile(user_id: int) -> ClientPaymentProfile:
    profile = db.session.get(ClientPaymentProfile, user_id)
    if profile is None:
        profile = ClientPaymentProfile(user_id=user_id, late_cancellations_waived=0)
        db.session.add(profile)
    return profile


def _saved_card(user_id: int) -> bool:
    profile = db.session.get(ClientPaymentProfile, user_id)
    return bool(profile and profile.stripe_customer_id and profile.default_payment_method_id)


def _ensure_customer(user_id: int, gateway: PaymentGateway) -> str:
    """The client's Stripe customer (created once, with only our id); Stripe is called
    with no transaction open."""
    profile = db.session.get(ClientPaymentProfile, user_id)
    existing = profile.stripe_customer_id if profile is not None else None
    db.session.rollback()
    if existing:
        return existing
    created = gateway.create_customer(user_id)
    profile = _profile(user_id)
    if not profile.stripe_customer_id:  # another request may have won the race
        profile.stripe_customer_id = created
    customer_id = profile.stripe_customer_id
    db.session.commit()
    return customer_id


def _latest_charge(booking_id: int) -> Payment | None:
    return db.session.scalar(
        select(Payment)
        .where(Payment.booking_id == booking_id, Payment.kind == LedgerKind.CHARGE.value)
        .order_by(Payment.id.desc())
        .limit(1)
    )


def _count_charges(booking_id: int) -> int:
    return int(
        db.session.scalar(
            select(func.count(Payment.id)).where(
                Payment.booking_id == booking_id, Payment.kind == LedgerKind.CHARGE.value
            )
        )
        or 0
    )


def _line(booking_id: int, kind: LedgerKind) -> Payment | None:
    return db.session.scalar(
        select(Payment)
        .where(Payment.booking_id == booking_id, Payment.kind == kind.value)
        .order_by(Payment.id)
        .limit(1)
    )


def _lines_with_intent(intent_id: str) -> Iterable[Payment]:
    return db.session.scalars(
        select(Payment).where(
            Payment.stripe_payment_intent_id == intent_id,
            Payment.kind.in_((LedgerKind.CHARGE.value, LedgerKind.LATE_FEE.value)),
            Payment.idempotency_key.is_not(None),
        )
    ).all()


def _paid_cents(booking_id: int) -> int:
    return int(
        db.session.scalar(
            select(func.coalesce(func.sum(Payment.amount_cents), 0)).where(
                Payment.booking_id == booking_id,
                Payment.kind == LedgerKind.CHARGE.value,
                Payment.status == LedgerStatus.SUCCEEDED.value,
            )
        )
        or 0
    )


def _paid_intent(booking_id: int) -> str | None:
    return db.session.scalar(
        select(Payment.stripe_payment_intent_id)
        .where(
            Payment.booking_id == booking_id,
            Payment.kind == LedgerKind.CHARGE.value,
            Payment.status.in_(_PAID),
            Payment.stripe_payment_intent_id.is_not(None),
        )
        .order_by(Payment.id.desc())
        .limit(1)
    )


def _refunded_cents(intent_id: str) -> int:
    return int(
        db.session.scalar(
            select(func.coalesce(func.sum(Payment.amount_cents), 0)).where(
                Payment.stripe_payment_intent_id == intent_id,
                Payment.kind == LedgerKind.REFUND.value,
                Payment.status == LedgerStatus.SUCCEEDED.value,
            )
        )
        or 0
    )


def _net_paid_cents(booking_id: int) -> int:
    rows = db.session.execute(
        select(Payment.kind, func.sum(Payment.amount_cents))
        .where(
            Payment.booking_id == booking_id,
            Payment.kind.in_((LedgerKind.CHARGE.value, LedgerKind.REFUND.value)),
            Payment.status.in_(_PAID),
        )
        .group_by(Payment.kind)
    ).all()
    sums = {kind: int(total or 0) for kind, total in rows}
    return sums.get(LedgerKind.CHARGE.value, 0) - sums.get(LedgerKind.REFUND.value, 0)


def _charge_line(booking: Booking, *, method: PaymentMethod, status: LedgerStatus) -> Payment:
    assert booking.client_id is not None
    return Payment(
        booking_id=booking.id,
        client_id=booking.client_id,
        therapist_id=booking.therapist_id,
        kind=LedgerKind.CHARGE.value,
        amount_cents=booking.fee_cents,
        currency=booking.currency,
        status=status.value,
        method=method.value,
        reason="Session fee",
        reason_code="session_fee",
        attempts=0,
    )


def _refund_line(
    booking: Booking,
    *,
    amount_cents: int,
    intent_id: str,
    key: str,
    reason: str,
    code: str,
    method: str,
) -> Payment:
    assert booking.client_id is not None
    return Payment(
        booking_id=booking.id,
        client_id=booking.client_id,
        therapist_id=booking.therapist_id,
        kind=LedgerKind.REFUND.value,
        amount_cents=amount_cents,
        currency=booking.currency,
        status=LedgerStatus.PENDING.value,
        method=method,
        idempotency_key=key,
        stripe_payment_intent_id=intent_id,
        reason=reason,
        reason_code=code,
        attempts=0,
    )


def _fee_line(
    booking: Booking,
    amount_cents: int,
    status: LedgerStatus,
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
        kind=LedgerKind.LATE_FEE.value,
        amount_cents=amount_cents,
        currency=booking.currency,
        status=status.value,
        method=method,
        idempotency_key=key,
        stripe_payment_intent_id=intent_id,
        reason=reason,
        reason_code=code,
        attempts=0,
    )


def _lattice(status: str) -> PaymentStatus:
    """Our bookkeeping states placed on the domain's payment-state lattice."""
    if status == LedgerStatus.PROCESSING.value:
        return PaymentStatus.PENDING
    if status == LedgerStatus.VOID.value:
        return PaymentStatus.UNPAID
    return PaymentStatus(status)


def _advance(line: Payment, target: PaymentStatus, booking: Booking, now: datetime) -> None:
    """Move a charge or fee line to `target`, and act on money that arrived."""
    before = line.status
    lower = target in (PaymentStatus.UNPAID, PaymentStatus.PENDING, PaymentStatus.FAILED)
    if lower and before in (LedgerStatus.PROCESSING.value, LedgerStatus.VOID.value):
        return  # a sweep is on it, or the charge was dropped: a stale attempt is no news
    if target.value == before:
        return
    line.status = target.value
    if line.kind != LedgerKind.CHARGE.value or target is not PaymentStatus.SUCCEEDED:
        return
    if booking.status == "held":
        _confirm(booking, now)
        return
    if booking.client_id is None or line.stripe_payment_intent_id is None:
        return
    if booking.status not in ("confirmed", "completed"):
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
            Payment.status.in_(_PAID),
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
            _refund_line(
                booking,
                amount_cents=line.amount_cents,
                intent_id=line.stripe_payment_intent_id,
                key=key,
                reason=reason,
                code=code,
                method=line.method,
            )
        )


def _confirm(booking: Booking, now: datetime) -> None:
    # Paid while still held (the booking row is locked): confirmed even if the hold
    # lapsed a moment ago, since nobody else could have taken the time meanwhile.
    booking_service.mark_confirmed(booking, now=now)


def _with_names(pairs: list[tuple[Payment, Booking]]) -> list[LedgerLine]:
    user_ids = {p.client_id for p, _ in pairs}
    therapist_ids = {p.therapist_id for p, _ in pairs}
    users = {
        u.id: u.display_name
        for u in db.session.scalars(select(User).where(User.id.in_(user_ids))).unique()
    }
    therapists = {
        t.id: t.display_name
        for t in db.session.scalars(
            select(TherapistProfile).where(TherapistProfile.id.in_(therapist_ids))
        )
    }
    return [
        LedgerLine(p, b, users.get(p.client_id, ""), therapists.get(p.therapist_id, ""))
        for p, b in pairs
    ]


def _parse_month(month: str) -> date:
    try:
        year, number = month.split("-")
        return date(int(year), int(number), 1)
    except ValueError:
        raise ValidationError(
            "Month not understood.", errors={"month": ["Use the form 2026-12."]}
        ) from None
