"""Paying for a booking: the pay page, paying at the session, paying now or keeping a card."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from flask import current_app

from teletherapy.domain.booking import BookingStatus
from teletherapy.domain.errors import ConflictError, NotFoundError, ValidationError
from teletherapy.domain.payments import (
    PaymentMethod,
    PaymentStatus,
)
from teletherapy.extensions import db
from teletherapy.gateways import payment_gateway, public_url
from teletherapy.gateways.payments import (
    NOT_COMPLETED,
    CardDeclined,
    PaymentGateway,
    PaymentGatewayError,
    PaymentIntentResult,
    SetupIntentResult,
    idempotency_key,
)
from teletherapy.models import (
    Booking,
    ClientPaymentProfile,
    LedgerStatus,
    Payment,
    TherapistProfile,
    User,
)
from teletherapy.services.bookings.hooks import Checkout
from teletherapy.services.payments.ledger import (
    CARD_METHODS,
    PAID,
    PROCESSING_LEASE,
    advance,
    charge_line,
    client_booking,
    client_profile,
    confirm_paid,
    count_charges,
    latest_charge,
    lock_booking,
    lock_client_booking,
    lock_payment,
)
from teletherapy.services.payments.settings import (
    offered_methods,
    stripe_config,
)

logger = logging.getLogger(__name__)


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
    booking = client_booking(client, booking_id)
    charge = latest_charge(booking.id)
    if not _is_payable(booking, charge):
        raise NotFoundError("This session has nothing to pay.")
    secret = None
    if (
        gateway is not None
        and charge is not None
        and charge.status == LedgerStatus.PENDING
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
    if booking.status != BookingStatus.HELD and charge is not None:
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
    booking = lock_client_booking(client, booking_id)
    _require_held(booking, now)
    offered = offered_methods(therapist_id=booking.therapist_id, stripe_enabled=stripe_enabled)
    if PaymentMethod.PAY_AT_SESSION not in offered:
        raise ValidationError(
            "Your therapist asks for a card.",
            errors={"method": ["Your therapist does not take payment at the session."]},
        )
    db.session.add(
        charge_line(booking, method=PaymentMethod.PAY_AT_SESSION, status=LedgerStatus.UNPAID)
    )
    confirm_paid(booking, now)
    db.session.commit()
    return booking


def start_card_setup(
    *, client: User, booking_id: int, method: str, gateway: PaymentGateway, now: datetime
) -> SetupIntentResult:
    """A SetupIntent for the page's `confirmCardSetup` (pay now, or keep a card on file)."""
    booking = client_booking(client, booking_id)
    _card_method(booking, method, gateway)
    if booking.status == BookingStatus.HELD:
        _require_held(booking, now)
    elif not _is_payable(booking, latest_charge(booking.id)):
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
    booking = lock_client_booking(client, booking_id)
    chosen = _card_method(booking, method, gateway)
    previous = latest_charge(booking.id)
    if booking.status == BookingStatus.HELD:
        _require_held(booking, now)
    elif not _is_payable(booking, previous):
        raise NotFoundError("This session has nothing to pay.")
    profile = client_profile(client.id)
    profile.default_payment_method_id = payment_method_id

    if chosen is PaymentMethod.CARD_ON_FILE:
        # A new line unless one is waiting already; after a declined off-session
        # charge the new line is charged again (with its own idempotency key).
        if previous is not None and previous.status == LedgerStatus.PENDING:
            previous.status = LedgerStatus.FAILED
            previous.reason = "Payment not completed: another card was saved"
        if previous is None or previous.status != LedgerStatus.UNPAID:
            db.session.add(
                charge_line(booking, method=PaymentMethod.CARD_ON_FILE, status=LedgerStatus.UNPAID)
            )
        if booking.status == BookingStatus.HELD:
            confirm_paid(booking, now)
        db.session.commit()
        return PaymentOutcome("saved", booking.status, "Your card is saved for this session.")

    if previous is not None and previous.status == LedgerStatus.PENDING:
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
        # should the bank complete it after all, `advance` refunds the second payment.
        previous.status = LedgerStatus.FAILED
        previous.reason = "Payment not completed: another card was used"

    # Pay now: a new ledger line per attempt, committed before Stripe is called.
    attempt = count_charges(booking.id) + 1
    key = idempotency_key("pay", booking.id if attempt == 1 else f"{booking.id}_{attempt}")
    line = charge_line(booking, method=PaymentMethod.PAY_NOW, status=LedgerStatus.PENDING)
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
        line = lock_payment(line_id)
        line.status = LedgerStatus.FAILED
        line.stripe_payment_intent_id = exc.payment_intent_id or line.stripe_payment_intent_id
        line.reason = "Card declined"
        line.last_error = (exc.decline_code or exc.code or "card_declined")[:300]
        db.session.commit()
        return PaymentOutcome("declined", booking.status, exc.message)
    except PaymentGatewayError:
        # Stripe may or may not have taken the payment: the line stays pending, and
        # the webhook that Stripe sends if it did finds it by booking id.
        line = lock_payment(line_id)
        line.last_error = "payment provider unavailable: outcome unknown"
        db.session.commit()
        raise
    return _record_intent(line_id, intent, now)


def verify_payment(
    *, client: User, booking_id: int, gateway: PaymentGateway, now: datetime
) -> PaymentOutcome:
    """After `confirmCardPayment` in the page: ask Stripe what really happened."""
    booking = client_booking(client, booking_id)
    charge = latest_charge(booking.id)
    if charge is None or not charge.stripe_payment_intent_id:
        raise NotFoundError("No payment to verify for this session.")
    charge_id, intent_id = charge.id, charge.stripe_payment_intent_id
    db.session.rollback()
    intent = gateway.retrieve_payment_intent(intent_id)
    return _record_intent(charge_id, intent, now)


def _record_intent(line_id: int, intent: PaymentIntentResult, now: datetime) -> PaymentOutcome:
    """Record what Stripe said of a PaymentIntent (direct API confirmation); one commit."""
    line = lock_payment(line_id)
    booking = lock_booking(line.booking_id)
    if line.stripe_payment_intent_id not in (None, intent.id):
        raise ConflictError("This payment is for another attempt.", extra={"reason": "stale"})
    if intent.amount_cents and intent.amount_cents != line.amount_cents:
        logger.warning("payment %s: intent %s amount differs, ignored", line.id, intent.id)
        raise ConflictError("The payment amount does not match.", extra={"reason": "amount"})
    line.stripe_payment_intent_id = intent.id
    if intent.is_succeeded:
        advance(line, PaymentStatus.SUCCEEDED, booking, now)
        message = "Payment received. Your session is booked."
        status = "succeeded"
    elif intent.needs_action:
        status, message = "requires_action", "Your bank asks you to confirm this payment."
    elif intent.status in NOT_COMPLETED:
        if line.status == LedgerStatus.PENDING:
            line.status = LedgerStatus.FAILED
            line.reason = "Payment not completed"
            line.last_error = (intent.failure_code or intent.status)[:300]
        status = "declined"
        message = intent.failure_message or "The payment was not completed. Try another card."
    else:
        status, message = "pending", "Your payment is being processed."
    db.session.commit()
    secret = intent.client_secret if status == "requires_action" else None
    if line.status in PAID:
        status = "succeeded"
    return PaymentOutcome(status, booking.status, message, secret)


def _require_held(booking: Booking, now: datetime) -> None:
    if booking.status != BookingStatus.HELD:
        raise ConflictError("This session is not waiting for payment.", extra={"reason": "status"})
    if booking.hold_expires_at is not None and booking.hold_expires_at <= now:
        raise ConflictError(
            "The time we held for you has run out; please book again.",
            extra={"reason": "hold_expired"},
        )


def _is_payable(booking: Booking, charge: Payment | None) -> bool:
    if booking.status == BookingStatus.HELD:
        return True
    return (
        booking.status in (BookingStatus.CONFIRMED, BookingStatus.COMPLETED)
        and charge is not None
        and charge.method in CARD_METHODS
        and charge.status in (LedgerStatus.PENDING, LedgerStatus.FAILED)
    )


def _card_method(booking: Booking, method: str, gateway: PaymentGateway | None) -> PaymentMethod:
    try:
        chosen = PaymentMethod(method)
    except ValueError:
        chosen = None
    offered = offered_methods(therapist_id=booking.therapist_id, stripe_enabled=gateway is not None)
    charge = latest_charge(booking.id)
    if booking.status != BookingStatus.HELD and charge is not None:
        offered = [PaymentMethod(charge.method)]
    if chosen is None or chosen not in offered or chosen.value not in CARD_METHODS:
        raise ValidationError(
            "Choose a way to pay your therapist accepts.",
            errors={"method": ["Choose a way to pay your therapist accepts."]},
        )
    if booking.fee_cents <= 0:
        raise ConflictError("This session is free.", extra={"reason": "free"})
    return chosen


def _ensure_customer(user_id: int, gateway: PaymentGateway) -> str:
    """The client's Stripe customer (created once, with only our id); Stripe is called
    with no transaction open."""
    profile = db.session.get(ClientPaymentProfile, user_id)
    existing = profile.stripe_customer_id if profile is not None else None
    db.session.rollback()
    if existing:
        return existing
    created = gateway.create_customer(user_id)
    profile = client_profile(user_id)
    if not profile.stripe_customer_id:  # another request may have won the race
        profile.stripe_customer_id = created
    customer_id = profile.stripe_customer_id
    db.session.commit()
    return customer_id


def checkout_for_hold(*, booking: Booking, now: datetime) -> Checkout:
    """How to pay for a booking just held (the API's `payment`): a SetupIntent's client
    secret for Stripe.js, the publishable key, and the pay page. Called after the
    booking's commit; if Stripe cannot be reached the pay page still works."""
    pay_url = public_url(f"/payments/bookings/{booking.id}/pay")
    config = stripe_config(current_app.config)
    gateway = payment_gateway()
    secret: str | None = None
    if gateway is not None and booking.client_id is not None:
        client_id = booking.client_id
        try:
            secret = gateway.create_setup_intent(_ensure_customer(client_id, gateway)).client_secret
        except PaymentGatewayError:
            logger.warning("checkout: no setup intent for booking=%s", booking.id)
    return Checkout(
        client_secret=secret,
        publishable_key=config.publishable_key if config is not None else None,
        pay_url=pay_url,
    )
