"""Payments: paying for a booking, the ledger, receipts, superbills, earnings, webhooks."""
