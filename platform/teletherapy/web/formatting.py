"""How web code writes instants (UTC for the API, the person's zone for pages) and labels."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask, has_request_context

from teletherapy.domain import vocabularies
from teletherapy.domain.money import format_cents
from teletherapy.web.access import current_actor


def utc_iso(value: datetime) -> str:
    """An instant as the API writes it: ISO 8601 in UTC with a Z, to the second."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def utc_iso_or_none(value: datetime | None) -> str | None:
    return None if value is None else utc_iso(value)


def local_today(zone: str, now: datetime) -> date:
    """The date it is in `zone` at the instant `now`."""
    return now.astimezone(ZoneInfo(zone)).date()


CLOCK = "%-I:%M %p"  # local_time's format for the time of day alone


def local_time(
    value: datetime | None, zone: str | None = None, fmt: str = "%a %b %-d, %-I:%M %p"
) -> str:
    """An instant as wall-clock time in `zone` (default: the viewer's), with the zone's name."""
    if value is None:
        return ""
    actor = current_actor() if has_request_context() else None
    zone = zone or (actor.time_zone if actor else "America/New_York")
    local = value.astimezone(ZoneInfo(zone))
    return f"{local.strftime(fmt).replace('AM', 'am').replace('PM', 'pm')} {local.tzname()}"


def init_app(app: Flask) -> None:
    app.add_template_filter(local_time, "local_time")
    app.add_template_filter(format_cents, "money")

    @app.context_processor
    def inject() -> dict[str, Any]:
        return {"actor": current_actor() if has_request_context() else None, "vocab": vocabularies}
