"""Thin job functions: open an app context, call one service, log the figures."""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask

from teletherapy.clock import utcnow
from teletherapy.gateways.mail import Mailer, mailer_from_config

logger = logging.getLogger(__name__)


def app_mailer(app: Flask) -> Mailer:
    return mailer_from_config(
        app.config.get("MAIL_URL"),
        Path(app.instance_path) / "outbox",
        sender=str(app.config["MAIL_FROM"]),
    )


def sweep_outbox(app: Flask, owner: str) -> None:
    from teletherapy.services.messaging.outbox import LEASE_SECONDS, dispatch_due

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


def expire_holds(app: Flask) -> None:
    from teletherapy.services.payments.payments import expire_stale_holds

    with app.app_context():
        expire_stale_holds(now=utcnow())


def sweep_payments(app: Flask) -> None:
    """Refunds and card-on-file late fees recorded as pending by cancellations."""
    from teletherapy.services.payments.payments import execute_pending, gateway_from_config

    with app.app_context():
        gateway = gateway_from_config(app.config)
        if gateway is None:
            return
        result = execute_pending(gateway=gateway, now=utcnow())
        if result.done or result.failed or result.needs_client:
            logger.info("payments sweep: %s", result)


def charge_completed_sessions(app: Flask) -> None:
    """Off-session charges of cards on file for sessions that have taken place."""
    from teletherapy.services.payments import payments

    with app.app_context():
        gateway = payments.gateway_from_config(app.config)
        if gateway is None:
            return
        result = payments.charge_completed_sessions(gateway=gateway, now=utcnow())
        if result.done or result.failed or result.needs_client:
            logger.info("card-on-file charges: %s", result)
