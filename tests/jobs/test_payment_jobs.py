"""The dispatcher sweeps payments: stale holds expire, pending money moves."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Flask
from sqlalchemy import select

from teletherapy.clock import utcnow
from teletherapy.extensions import db
from teletherapy.jobs import tasks
from teletherapy.jobs.scheduler import build_scheduler
from teletherapy.models import Booking
from tests.payment_fakes import add_booking


def test_the_dispatcher_schedules_the_hold_and_payment_sweeps(app: Flask) -> None:
    scheduler = build_scheduler(app, blocking=False)
    assert {"sweep_outbox", "expire_holds", "sweep_payments", "charge_completed_sessions"} <= {
        job.id for job in scheduler.get_jobs()
    }


def test_the_hold_sweep_releases_a_hold_that_ran_out(app: Flask, make_user: Any) -> None:
    now = utcnow()
    therapist, client = make_user("therapist"), make_user("client")
    stale = add_booking(
        therapist, client, start=now + timedelta(days=2), now=now - timedelta(hours=1)
    )
    fresh = add_booking(therapist, client, start=now + timedelta(days=3), now=now)
    stale_id, fresh_id = stale.id, fresh.id
    db.session.rollback()
    tasks.expire_holds(app)
    db.session.rollback()
    statuses = dict(db.session.execute(select(Booking.id, Booking.status)).all())
    assert (statuses[stale_id], statuses[fresh_id]) == ("expired", "held")
