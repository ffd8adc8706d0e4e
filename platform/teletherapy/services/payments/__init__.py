"""Payments: methods, ledger, settlement, checkout, sweeps, webhooks and reports."""
