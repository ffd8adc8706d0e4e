"""Thin job functions: open an app context, call one service, log the figures."""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask

from ..clock import utcnow
from ..gateways.mail import Mailer, mailer_from_config

logger = logging.getLogger(__name__)


def app_mailer(app: Flask) -> Mailer:
    return mailer_from_config(
        app.config.get("MAIL_URL"),
        Path(app.instance_path) / "outbox",
        sender=str(app.config["MAIL_FROM"]),
    )


def sweep_outbox(app: Flask, owner: str) -> None:
    from ..services.outbox import LEASE_SECONDS, dispatch_due

    lease_seconds = int(app.config.get("DISPATCHER_LEASE_SECONDS") or LEASE_SECONDS)
    with app.app_context():
        mailer = app_mailer(app)
        while True:
            result = dispatch_due(
                mailer=mailer, now=utcnow(), limit=100, owner=owner, lease_seconds=lease_seconds
            )
            if result.claimed:
                logger.info("outbox sweep: %s", result)
            if result.claimed < 100:
                break
