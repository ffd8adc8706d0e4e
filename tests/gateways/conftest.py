"""Gateway fixtures: the shared localstripe fixtures (tests/localstripe.py)."""

from __future__ import annotations

from tests.localstripe import (  # noqa: F401  (fixtures and names the gateway tests use)
    PUBLISHABLE_KEY,
    SECRET_KEY,
    WEBHOOK_SECRET,
    WebhookReceiver,
    localstripe_url,
    stripe_client,
    webhook_receiver,
)
