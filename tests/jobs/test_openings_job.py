"""The dispatcher keeps stored next openings current as time moves on."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import delete, func, select

from teletherapy.extensions import db
from teletherapy.jobs import tasks
from teletherapy.jobs.scheduler import build_scheduler
from teletherapy.models import TherapistOpening


def test_the_dispatcher_schedules_the_openings_refresh(app: Flask) -> None:
    scheduler = build_scheduler(app, blocking=False)
    assert "refresh_openings" in {job.id for job in scheduler.get_jobs()}


def test_the_job_writes_rows_for_therapists_who_have_none(app: Flask, make_user: Any) -> None:
    make_user("therapist")
    make_user("therapist")
    db.session.execute(delete(TherapistOpening))
    db.session.commit()
    tasks.refresh_openings(app)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(TherapistOpening)) == 2
