"""The administrators' audit page: search who viewed or changed whose data."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

from flask import Blueprint, render_template, request

from teletherapy.domain.errors import ValidationError
from teletherapy.services.audit import list_events
from teletherapy.web.access import roles

bp = Blueprint("audit_admin", __name__, url_prefix="/admin")


def _int(name: str) -> int | None:
    value = request.args.get(name, "").strip()
    if not value:
        return None
    if not value.isdigit() or len(value) > 9:
        raise ValidationError("Give a user id (a number).", errors={name: ["A number."]})
    return int(value)


def _day(name: str) -> datetime | None:
    value = request.args.get(name, "").strip()
    if not value:
        return None
    try:
        return datetime.combine(datetime.fromisoformat(value).date(), time(0), tzinfo=UTC)
    except ValueError:
        raise ValidationError("Give a date as YYYY-MM-DD.", errors={name: ["YYYY-MM-DD"]}) from None


@bp.get("/audit")
@roles("admin")
def audit() -> Any:
    until = _day("to")
    events = list_events(
        subject_user_id=_int("subject"),
        actor_user_id=_int("actor"),
        action=request.args.get("action") or None,
        resource_type=request.args.get("resource") or None,
        since=_day("from"),
        until=until + timedelta(days=1) if until else None,
        limit=500,
    )
    return render_template("admin/audit.html", events=events, args=request.args)
