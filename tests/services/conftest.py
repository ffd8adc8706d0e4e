"""Fixtures shared with other folders: localstripe and a live app server (tests/localstripe.py)."""

from __future__ import annotations

from tests.localstripe import live_server, localstripe_url, stripe_client  # noqa: F401
