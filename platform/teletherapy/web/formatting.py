"""Filters and globals shared by every template: times, money and labels in the viewer's
language (Babel's locale data, never formats by hand) and zone."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Flask, has_request_context
from flask_babel import get_locale

from teletherapy.i18n import TranslatedVocabularies, format_instant, format_money
from teletherapy.web.access import current_actor

# Older templates pass strftime patterns; each maps to a locale-aware style.
_STYLES = {"%-I:%M %p": "time", "%A %B %-d": "day", "%a %b %-d": "short_day"}


def _language() -> str:
    locale = get_locale()
    return str(locale) if locale is not None else "en"


def local_time(value: datetime | None, zone: str | None = None, fmt: str = "datetime") -> str:
    """An instant as wall-clock time in `zone` (default: the viewer's), in the viewer's
    language: 'Tue, Dec 1, 6:00 pm EST' / 'mar, 1 dic, 18:00 EST'. `fmt` is a style:
    datetime, time, date, day, short_day, zone (the zone's name in words)."""
    if value is None:
        return ""
    actor = current_actor() if has_request_context() else None
    zone = zone or (actor.time_zone if actor else "America/New_York")
    return format_instant(value, zone, _language(), _STYLES.get(fmt, fmt))


def money(cents: int, currency: str = "usd") -> str:
    return format_money(cents, currency, _language())


def init_app(app: Flask) -> None:
    app.add_template_filter(local_time, "local_time")
    app.add_template_filter(money, "money")

    @app.context_processor
    def inject() -> dict[str, Any]:
        return {
            "actor": current_actor() if has_request_context() else None,
            "vocab": TranslatedVocabularies(_language()),
        }
