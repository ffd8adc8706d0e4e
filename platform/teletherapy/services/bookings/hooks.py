"""What the bookings feature asks of payments, which depends on bookings (not the reverse).

Payments confirms held bookings through the lifecycle, so bookings cannot import
payments: the payments package hands these hooks to the app at creation
(`register_payment_hooks`), and the lifecycle and `book_session` call them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from flask import Flask, current_app

from teletherapy.models import Booking

EXTENSION_KEY = "booking_payment_hooks"


@dataclass(frozen=True)
class Checkout:
    """How the client pays for a held booking (the API's `payment` object)."""

    client_secret: str | None
    publishable_key: str | None
    pay_url: str


class LedgerHook(Protocol):
    """Record what a change costs, inside the lifecycle's transaction (never commits)."""

    def __call__(self, *, booking: Booking, now: datetime) -> None: ...


class CheckoutHook(Protocol):
    """Prepare the card payment of a held booking, after its commit (may call Stripe)."""

    def __call__(self, *, booking: Booking, now: datetime) -> Checkout: ...


@dataclass(frozen=True)
class PaymentHooks:
    on_cancelled: LedgerHook
    on_no_show: LedgerHook
    checkout: CheckoutHook


def register_payment_hooks(app: Flask, hooks: PaymentHooks) -> None:
    app.extensions[EXTENSION_KEY] = hooks


def payments() -> PaymentHooks:
    found: PaymentHooks = current_app.extensions[EXTENSION_KEY]
    return found
