"""Payments: settings, ledger, settle, checkout, sweeps, webhooks and reports.

With no Stripe keys configured every session is "pay at the session". Payments
depends on bookings (a paid hold is confirmed through the lifecycle); the
bookings lifecycle reaches the ledger only through `PAYMENT_HOOKS`, which the
app registers at creation.
"""

from teletherapy.gateways.payments import InvalidWebhook, PaymentGateway, PaymentGatewayError
from teletherapy.services.bookings.hooks import PaymentHooks
from teletherapy.services.payments.checkout import (
    PaymentOutcome,
    PayPage,
    checkout_for_hold,
    choose_pay_at_session,
    get_pay_page,
    start_card_setup,
    submit_card,
    verify_payment,
)
from teletherapy.services.payments.ledger import (
    PROCESSING_LEASE,
    on_booking_cancelled,
    on_booking_no_show,
)
from teletherapy.services.payments.reports import (
    BandEarnings,
    Earnings,
    LedgerLine,
    Superbill,
    SuperbillLine,
    SuperbillProvider,
    earnings,
    get_receipt,
    list_ledger,
    superbill,
    therapist_superbill,
    unpaid_sessions,
)
from teletherapy.services.payments.settings import (
    StripeConfig,
    current_gateway,
    get_settings,
    offered_methods,
    stripe_config,
    update_settings,
)
from teletherapy.services.payments.settle import mark_paid_at_session, waive_late_fee
from teletherapy.services.payments.sweeps import (
    SweepCounts,
    charge_completed_sessions,
    execute_pending,
    expire_stale_holds,
)
from teletherapy.services.payments.webhooks import process_webhook

PAYMENT_HOOKS = PaymentHooks(
    on_cancelled=on_booking_cancelled,
    on_no_show=on_booking_no_show,
    checkout=checkout_for_hold,
)

__all__ = [
    "PAYMENT_HOOKS",
    "PROCESSING_LEASE",
    "BandEarnings",
    "Earnings",
    "InvalidWebhook",
    "LedgerLine",
    "PayPage",
    "PaymentGateway",
    "PaymentGatewayError",
    "PaymentOutcome",
    "StripeConfig",
    "Superbill",
    "SuperbillLine",
    "SuperbillProvider",
    "SweepCounts",
    "charge_completed_sessions",
    "checkout_for_hold",
    "choose_pay_at_session",
    "current_gateway",
    "earnings",
    "execute_pending",
    "expire_stale_holds",
    "get_pay_page",
    "get_receipt",
    "get_settings",
    "list_ledger",
    "mark_paid_at_session",
    "offered_methods",
    "on_booking_cancelled",
    "on_booking_no_show",
    "process_webhook",
    "start_card_setup",
    "stripe_config",
    "submit_card",
    "superbill",
    "therapist_superbill",
    "unpaid_sessions",
    "update_settings",
    "verify_payment",
    "waive_late_fee",
]
