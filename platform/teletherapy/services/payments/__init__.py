"""Payments: methods, ledger, settlement, checkout, sweeps, webhooks and reports.

The payment gateway's type and errors, for web code (which never imports gateways).
"""

from teletherapy.gateways.payments import InvalidWebhook, PaymentGateway, PaymentGatewayError

__all__ = ["InvalidWebhook", "PaymentGateway", "PaymentGatewayError"]
