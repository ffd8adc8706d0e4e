"""Payment settings: the ways to pay a therapist accepts, late-cancel policy, Stripe keys."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from teletherapy.domain.errors import NotFoundError, ValidationError
from teletherapy.domain.payments import (
    PaymentMethod,
)
from teletherapy.domain.payments import offered_methods as domain_offered_methods
from teletherapy.extensions import db
from teletherapy.gateways import payment_gateway
from teletherapy.gateways.payments import (
    PaymentGateway,
)
from teletherapy.models import (
    TherapistPaymentSettings,
    User,
)

logger = logging.getLogger(__name__)


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
    therapist_id = therapist_id_of(therapist)
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
    return domain_offered_methods(
        accepts_pay_now=settings.accepts_pay_now,
        accepts_card_on_file=settings.accepts_card_on_file,
        accepts_pay_at_session=settings.accepts_pay_at_session,
        cards_enabled=stripe_enabled,
    )


def therapist_id_of(user: User) -> int:
    if user.therapist_id is None:
        raise NotFoundError("No therapist profile.")
    return user.therapist_id


def current_gateway() -> PaymentGateway | None:
    """The app's payment gateway (`app.extensions["gateways"].payments`); None without Stripe."""
    return payment_gateway()
