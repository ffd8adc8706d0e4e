"""Build the APScheduler 3 dispatcher: interval jobs that sweep, never enqueue."""

from __future__ import annotations

import logging
import os
import uuid

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask

from teletherapy.jobs import tasks

logger = logging.getLogger(__name__)


def build_scheduler(app: Flask, *, blocking: bool) -> BaseScheduler:
    """A memory job store only: each dispatcher process owns its schedule.

    Coordination between processes is the outbox's leases, not APScheduler's store.
    `coalesce` and a generous misfire grace mean a busy or paused process runs a
    late sweep once instead of dropping it (the default grace is one second).
    """
    scheduler_cls = BlockingScheduler if blocking else BackgroundScheduler
    scheduler = scheduler_cls(
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 3600},
        timezone="UTC",
    )
    owner = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
    scheduler.add_job(
        tasks.sweep_outbox,
        "interval",
        seconds=int(app.config["DISPATCHER_INTERVAL_SECONDS"]),
        args=[app, owner],
        id="sweep_outbox",
    )
    scheduler.add_job(tasks.expire_holds, "interval", seconds=60, args=[app], id="expire_holds")
    scheduler.add_job(
        tasks.refresh_openings, "interval", seconds=60, args=[app], id="refresh_openings"
    )
    scheduler.add_job(
        tasks.condense_equity, "interval", minutes=15, args=[app], id="condense_equity"
    )
    scheduler.add_job(tasks.prune_outbox, "interval", hours=1, args=[app], id="prune_outbox")
    scheduler.add_job(
        tasks.sweep_payments,
        "interval",
        seconds=int(app.config["DISPATCHER_INTERVAL_SECONDS"]),
        args=[app],
        id="sweep_payments",
    )
    scheduler.add_job(
        tasks.charge_completed_sessions,
        "interval",
        minutes=5,
        args=[app],
        id="charge_completed_sessions",
    )
    return scheduler


def start_in_process(app: Flask) -> BaseScheduler | None:
    """For `make run`: a background scheduler inside the development server."""
    # The reloader's parent process would double the dispatcher; we run without it.
    scheduler = build_scheduler(app, blocking=False)
    scheduler.start()
    logger.info("dispatcher started inside the web process")
    return scheduler
