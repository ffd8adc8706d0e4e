"""Filters and globals shared by every template: times, money and labels in the viewer's
language (Babel's locale data, never formats by hand) and zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_skeleton, format_time
from babel.lists import format_list
from flask import Flask, has_request_context
from flask_babel import get_locale, gettext
from flask_babel import lazy_gettext as _l

from teletherapy.domain import vocabularies
from teletherapy.domain.availability import time_zone_error
from teletherapy.domain.errors import Text
from teletherapy.domain.matching_types import Cents, Codes, Opening, Reason
from teletherapy.domain.payments import PAID_IN_PERSON_SUFFIX, read_reason
from teletherapy.i18n import (
    TranslatedVocabularies,
    format_instant,
    format_money,
    vocabulary_label,
)
from teletherapy.i18n import zone_label as i18n_zone_label
from teletherapy.i18n import zone_name as i18n_zone_name
from teletherapy.web.access import current_actor


def utc_iso(value: datetime) -> str:
    """An instant as the API writes it: ISO 8601 in UTC with a Z, to the second."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def utc_iso_or_none(value: datetime | None) -> str | None:
    return None if value is None else utc_iso(value)


def local_today(zone: str, now: datetime) -> date:
    """The date it is in `zone` at the instant `now`."""
    return now.astimezone(ZoneInfo(zone)).date()


CLOCK = "%-I:%M %p"  # local_time's format for the time of day alone (style "time")

# Older templates pass strftime patterns; each maps to a locale-aware style.
_STYLES = {"%-I:%M %p": "time", "%A %B %-d": "day", "%a %b %-d": "short_day"}


def viewer_language() -> str:
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
    return format_instant(value, zone, viewer_language(), _STYLES.get(fmt, fmt))


def zone_name(zone: str | None = None) -> str:
    """An IANA zone in words, in the viewer's language: 'America/New_York' -> 'Eastern Time'."""
    if not zone:
        actor = current_actor() if has_request_context() else None
        zone = actor.time_zone if actor else "America/New_York"
    return i18n_zone_name(zone, viewer_language())


def zone_label(zone: str) -> str:
    """A zone as a person picks it, in the viewer's language: 'Eastern Time (New York)'; a
    value that is not a zone we take (kept to show what was sent) as it came."""
    return zone if time_zone_error(zone) else i18n_zone_label(zone, viewer_language())


def money(cents: int, currency: str = "usd") -> str:
    return format_money(cents, currency, viewer_language())


# Styles of a calendar date beyond "day" (full) and "medium": CLDR patterns and skeletons
# that every locale orders its own way.
_DATE_PATTERNS = {
    "month_name": "LLLL",
    "weekday": "EEEE",
    "weekday_short": "EEE",
    "weekday_narrow": "EEEEE",
}
_DATE_SKELETONS = {"month": "yMMMM", "day_month": "MMMMd"}


def local_date(value: date | None, style: str = "day") -> str:
    """A calendar date in the viewer's language: 'Thursday, December 3, 2026'; styles
    month ('December 2026'), month_name, weekday, weekday_narrow, day_month, medium."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.date()
    language = viewer_language()
    if style in _DATE_PATTERNS:
        return format_date(value, _DATE_PATTERNS[style], locale=language)
    if style in _DATE_SKELETONS:
        return format_skeleton(_DATE_SKELETONS[style], value, locale=language)
    return format_date(value, "full" if style == "day" else "medium", locale=language)


def clock(value: time) -> str:
    """A wall-clock time of day (no date, no zone) in the viewer's language: '9:00 am'."""
    language = viewer_language()
    text = format_time(value, "short", locale=language).replace("\u202f", " ")
    if language.split("_")[0] == "en":
        text = text.replace("AM", "am").replace("PM", "pm")
    return text


# Booking statuses as people read them (codes stay English in the API).
STATUS_LABELS = {
    "held": _l("held for payment"),
    "confirmed": _l("confirmed"),
    "completed": _l("completed"),
    "no_show": _l("no-show"),
    "cancelled": _l("cancelled"),
    "expired": _l("expired"),
}


def status_label(code: str) -> str:
    return str(STATUS_LABELS[code]) if code in STATUS_LABELS else code.replace("_", " ")


def band_label(label: str) -> str:
    """A fee band's label: the seeded labels are in the catalog; an admin's own stays as is."""
    return str(gettext(label)) if label else label


def ledger_reason(stored: str | None) -> str:
    """A ledger line's reason (stored in English) in the viewer's language."""
    if stored and stored.endswith(PAID_IN_PERSON_SUFFIX):
        first = ledger_reason(stored.removesuffix(PAID_IN_PERSON_SUFFIX))
        return str(gettext("%(reason)s (paid in person)", reason=first))
    text = read_reason(stored)
    if isinstance(text, Text):
        return str(gettext(text.msgid, **text.params))
    return text


# Said in a result's header already (its price and next opening): not listed again.
_IN_RESULT_HEADER = frozenset(
    {"%(fee)s a session in your fee band", "Next opening %(opening)s your time"}
)


def in_result_header(text: str) -> bool:
    return isinstance(text, Reason) and text.message in _IN_RESULT_HEADER


def reason(text: str) -> str:
    """A match reason in the viewer's language (the API keeps the English text)."""
    if not isinstance(text, Reason):
        return str(gettext(text)) if text else text
    language = viewer_language()
    values: dict[str, Any] = {}
    for name, part in text.parts.items():
        if isinstance(part, Codes):
            vocabulary = getattr(vocabularies, part.vocabulary)
            labels = [vocabulary_label(vocabulary, code, language) for code in part.codes]
            if part.lower:
                labels = [_lower_first(label) for label in labels]
            values[name] = format_list(labels, locale=language)
        elif isinstance(part, Cents):
            values[name] = money(part.cents)
        elif isinstance(part, Opening):
            values[name] = format_instant(part.at, part.zone, language)
        else:
            values[name] = part
    return str(gettext(text.message, **values))


def _lower_first(text: str) -> str:
    return text if len(text) > 1 and text[1].isupper() else text[:1].lower() + text[1:]


class _Band(Protocol):
    min_cents: int
    max_cents: int


def band_range(band: _Band) -> str:
    return str(
        gettext(
            "%(low)s to %(high)s",
            low=money(band.min_cents),
            high=money(band.max_cents),
        )
    )


def init_app(app: Flask) -> None:
    app.add_template_filter(local_time, "local_time")
    app.add_template_filter(money, "money")
    app.add_template_filter(zone_name, "zone_name")
    app.add_template_filter(clock, "clock")
    app.add_template_filter(local_date, "local_date")
    app.add_template_filter(status_label, "status_label")
    app.add_template_filter(band_label, "band_label")
    app.add_template_filter(band_range, "band_range")
    app.add_template_filter(reason, "reason")
    app.add_template_test(in_result_header, "in_result_header")
    app.add_template_filter(ledger_reason, "ledger_reason")

    @app.context_processor
    def inject() -> dict[str, Any]:
        return {
            "actor": current_actor() if has_request_context() else None,
            "vocab": TranslatedVocabularies(viewer_language()),
        }
