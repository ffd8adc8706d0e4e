"""Thin job functions: open an app context, call one service, log the figures.

Gateways come from `app.extensions["gateways"]` (built once at app creation),
so tests swap fakes in there, jobs included.
"""

from __future__ import annotations

import logging

from flask import Flask

from teletherapy.clock import utcnow
from teletherapy.gateways import gateways

logger = logging.getLogger(__name__)

# Messages claimed per sweep round: each round costs a claim query, one read of the rows
# and their bookings, and one SMTP connection, shared by the whole batch.
CLAIM_BATCH = 500


def sweep_outbox(app: Flask, owner: str) -> None:
    from teletherapy.services.messaging.outbox import LEASE_SECONDS, dispatch_due

    lease_seconds = int(app.config.get("DISPATCHER_LEASE_SECONDS") or LEASE_SECONDS)
    with app.app_context():
        mailer = gateways().mail
        while True:
            result = dispatch_due(
                mailer=mailer,
                now=utcnow(),
                limit=CLAIM_BATCH,
                owner=owner,
                lease_seconds=lease_seconds,
            )
            if result.claimed:
                logger.info("outbox sweep: %s", result)
            if result.claimed < CLAIM_BATCH:
                break


def expire_holds(app: Flask) -> None:
    from teletherapy.services.payments import expire_stale_holds

    with app.app_context():
        expire_stale_holds(now=utcnow())


def refresh_openings(app: Flask) -> None:
    """Stored next openings that time has made due (notice passed, holds lapsed, horizon)."""
    from teletherapy.services.availability.openings import refresh_due_openings

    with app.app_context():
        refresh_due_openings(now=utcnow())


def condense_equity(app: Flask) -> None:
    """First searches older than equity's PENDING_DAYS lose their owner (kept as hours)."""
    from teletherapy.extensions import db
    from teletherapy.services.equity.recording import condense_stale_first_searches

    with app.app_context():
        condensed = condense_stale_first_searches(now=utcnow())
        db.session.commit()
        if condensed:
            logger.info("equity: %s first searches with no booking condensed", condensed)


def prune_outbox(app: Flask) -> None:
    """What finished messages said, removed after outbox.CONTENT_DAYS (the rows stay)."""
    from teletherapy.services.messaging.outbox import prune_contents

    with app.app_context():
        pruned = prune_contents(now=utcnow())
        if pruned:
            logger.info("outbox: contents of %s finished messages removed", pruned)


def sweep_payments(app: Flask) -> None:
    """Refunds and card-on-file late fees recorded as pending by cancellations."""
    from teletherapy.services.payments import execute_pending

    with app.app_context():
        gateway = gateways().payments
        if gateway is None:
            return
        result = execute_pending(gateway=gateway, now=utcnow())
        if result.done or result.failed or result.needs_client:
            logger.info("payments sweep: %s", result)


def charge_completed_sessions(app: Flask) -> None:
    """Off-session charges of cards on file for sessions that have taken place."""
    from teletherapy.services import payments

    with app.app_context():
        gateway = gateways().payments
        if gateway is None:
            return
        result = payments.charge_completed_sessions(gateway=gateway, now=utcnow())
        if result.done or result.failed or result.needs_client:
            logger.info("card-on-file charges: %s", result)
