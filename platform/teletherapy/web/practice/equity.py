"""/practice/equity: a therapist's own reduced-fee places and waiting times (only theirs)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import render_template

from teletherapy.clock import utcnow
from teletherapy.domain.vocabularies import Role
from teletherapy.services.equity import therapist
from teletherapy.web.access import own_therapist_id, roles


@roles(Role.THERAPIST)
def equity() -> Any:
    today = utcnow().date()
    start = today - timedelta(days=89)
    mine = therapist.therapist_equity(
        therapist_id=own_therapist_id(), date_from=start, date_to=today, now=utcnow()
    )
    return render_template("equity/therapist.html", mine=mine, start=start, end=today)
