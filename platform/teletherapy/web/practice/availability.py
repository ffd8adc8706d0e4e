"""The therapist's availability editor (/practice/availability): weekly grid, overrides."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import MultiDict

from teletherapy.clock import utcnow
from teletherapy.domain.availability import days_off
from teletherapy.domain.errors import ConflictError, ValidationError
from teletherapy.domain.vocabularies import Role
from teletherapy.services import bookings
from teletherapy.services.availability import rules as availability
from teletherapy.services.bookings import week
from teletherapy.web.access import own_therapist_id, roles
from teletherapy.web.errors import translate, translated_errors
from teletherapy.web.forms import WEEKDAYS, zone_choices

SCALARS = (
    "time_zone",
    "session_minutes",
    "buffer_minutes",
    "travel_buffer_minutes",
    "min_notice_hours",
    "horizon_days",
    "max_per_day",
    "max_per_week",
    "cancellation_window_hours",
)
BLANK_WEEKLY_ROWS = 3
BLANK_OVERRIDE_ROWS = 2
MAX_VACATION_DAYS = 366
_ROW_KEY = re.compile(r"^(weekly|override)-(\d{1,6})-(\w+)$")
_ENTRY = re.compile(r"(weekly|overrides)\[\d+\]")
_ERROR_KEY = re.compile(r"^(weekly|overrides)\[(\d+)\](?:\.(\w+))?$")


@dataclass
class Row:
    """One line of the weekly grid or of the overrides list, as typed, with its problems."""

    n: int
    values: dict[str, str]
    errors: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    def get(self, name: str) -> str:
        return self.values.get(name, "")


@dataclass
class Editor:
    """Everything the availability page shows: values, rows and messages by field."""

    values: dict[str, str]
    accepting: bool
    weekly: list[Row]
    overrides: list[Row]
    vacation: dict[str, str] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    general: list[str] = field(default_factory=list)


@roles(Role.THERAPIST)
def edit_availability() -> Any:
    therapist_id = own_therapist_id()
    if request.method == "GET":
        editor = _editor_from_saved(availability.get_availability(therapist_id=therapist_id))
        return _render(editor)
    editor, payload, row_of = _editor_from_form(request.form)
    affected: list[Any] = []
    if not editor.errors and not editor.general:
        choice = request.form.get("affected_bookings") or None
        now = utcnow()
        try:
            bookings.change_hours(
                therapist_id=therapist_id, payload=payload, now=now, affected_bookings=choice
            )
        except ValidationError as exc:
            _attach(editor, exc, row_of)
        except ConflictError as exc:
            if "affected" not in exc.extra:
                raise
            # Show the sessions before anything is saved, and ask: keep them or cancel them.
            affected = bookings.list_outside_hours(
                therapist_id=therapist_id, payload=payload, now=now
            )
            return _render(editor, affected=affected), 409
        else:
            flash(_("Your availability is saved."), "success")
            return redirect(url_for("practice.edit_availability"))
    return _render(editor), 422


def _render(editor: Editor, *, affected: Sequence[Any] = ()) -> str:
    return render_template(
        "practice/availability.html",
        editor=editor,
        affected=affected,
        names=bookings.names_for(affected),
        picture=week.weekly_hours_grid(therapist_id=own_therapist_id()),
        weekdays=WEEKDAYS,
        # The zones by name, and the one saved or sent if it is another (kept as sent).
        zones=zone_choices(also=editor.values.get("time_zone") or None),
        blank_index=max([r.n for r in editor.weekly + editor.overrides], default=0) + 1,
    )


def _blank(start: int, count: int) -> list[Row]:
    return [Row(n, {}) for n in range(start, start + count)]


def _editor_from_saved(saved: dict[str, Any]) -> Editor:
    values = {name: "" if saved[name] is None else str(saved[name]) for name in SCALARS}
    weekly = [
        Row(n, {key: str(rule[key]) for key in ("weekday", "start", "end", "setting")})
        for n, rule in enumerate(saved["weekly"])
    ]
    overrides = [
        Row(
            n,
            {
                "date": item["date"],
                "kind": "off" if item.get("available") is False else "hours",
                "start": item.get("start") or "",
                "end": item.get("end") or "",
                "setting": item.get("setting") or "",
            },
        )
        for n, item in enumerate(saved["overrides"])
    ]
    weekly += _blank(len(weekly), BLANK_WEEKLY_ROWS)
    overrides += _blank(len(overrides), BLANK_OVERRIDE_ROWS)
    return Editor(values, bool(saved["accepting_new_clients"]), weekly, overrides)


def _editor_from_form(
    form: MultiDict[str, str],
) -> tuple[Editor, dict[str, Any], dict[str, Row]]:
    """The page's fields as the service's payload, and which row each payload entry came from."""
    values = {name: form.get(name, "").strip() for name in SCALARS}
    accepting = form.get("accepting_new_clients") in ("on", "true", "1")
    rows: dict[str, dict[int, dict[str, str]]] = {"weekly": {}, "override": {}}
    for key, value in form.items():
        match = _ROW_KEY.match(key)
        if match:
            section, n, name = match.group(1), int(match.group(2)), match.group(3)
            rows[section].setdefault(n, {})[name] = value.strip()
    weekly = [Row(n, v) for n, v in sorted(rows["weekly"].items())]
    overrides = [Row(n, v) for n, v in sorted(rows["override"].items())]
    editor = Editor(values, accepting, weekly, overrides)
    editor.vacation = {
        "from": form.get("vacation_from", "").strip(),
        "to": form.get("vacation_to", "").strip(),
    }

    row_of: dict[str, Row] = {}
    weekly_payload: list[dict[str, str]] = []
    for row in weekly:
        if row.get("remove") or not (row.get("start") or row.get("end")):
            continue  # an empty or removed line
        row_of[f"weekly[{len(weekly_payload)}]"] = row
        weekly_payload.append(
            {name: row.get(name) for name in ("weekday", "start", "end", "setting")}
        )
    override_payload: list[dict[str, Any]] = []
    for row in overrides:
        if row.get("remove") or not (row.get("date") or row.get("start") or row.get("end")):
            continue
        row_of[f"overrides[{len(override_payload)}]"] = row
        if row.get("kind") == "off":
            override_payload.append({"date": row.get("date"), "available": False})
        else:
            override_payload.append(
                {name: row.get(name) for name in ("date", "start", "end", "setting")}
            )
    override_payload += _vacation_days(editor)
    payload: dict[str, Any] = {
        **values,
        "accepting_new_clients": accepting,
        "weekly": weekly_payload,
        "overrides": override_payload,
    }
    # Keep the rows the person typed, plus a few empty ones for more.
    start = max([r.n for r in weekly + overrides], default=-1) + 1
    editor.weekly += _blank(start, 1)
    editor.overrides += _blank(start + 1, 1)
    return editor, payload, row_of


def _vacation_days(editor: Editor) -> list[dict[str, Any]]:
    first, last = editor.vacation.get("from", ""), editor.vacation.get("to", "")
    if not first and not last:
        return []
    parsed: dict[str, date] = {}
    for name, text in (("from", first), ("to", last)):
        try:
            parsed[name] = date.fromisoformat(text)
        except ValueError:
            editor.errors[f"vacation_{name}"].append("Give a date as YYYY-MM-DD.")
    if len(parsed) < 2:
        return []
    if parsed["to"] < parsed["from"]:
        editor.errors["vacation_to"].append("The last day cannot be before the first.")
        return []
    if (parsed["to"] - parsed["from"]).days >= MAX_VACATION_DAYS:
        editor.errors["vacation_to"].append("A vacation can be at most one year long.")
        return []
    return [
        {"date": item.on.isoformat(), "available": False}
        for item in days_off(parsed["from"], parsed["to"])
    ]


def _describe(row: Row, section: str) -> str:
    """How a person recognises a line of the form ("Monday 09:00-12:00")."""
    if section == "weekly":
        day = row.get("weekday")
        name = WEEKDAYS[int(day)] if day.isdigit() and int(day) < len(WEEKDAYS) else _l("the line")
        return f"{name} {row.get('start')}-{row.get('end')}"
    return f"{row.get('date')} {row.get('start')}-{row.get('end')}"


def _readable(message: str, row_of: dict[str, Row]) -> str:
    """Service messages name entries like the JSON (weekly[0]); the page names the line."""

    def replace(match: re.Match[str]) -> str:
        row = row_of.get(match.group(0))
        return _describe(row, match.group(1)) if row is not None else match.group(0)

    return _ENTRY.sub(replace, message)


def _attach(editor: Editor, exc: ValidationError, row_of: dict[str, Row]) -> None:
    """Put each service message next to the field it is about."""
    for key, raw in translated_errors(exc).items():
        messages = [_readable(message, row_of) for message in raw]
        match = _ERROR_KEY.match(key)
        if match is None:
            if key in SCALARS or key == "accepting_new_clients":
                editor.errors[key].extend(messages)
            else:
                editor.general.extend(messages)
            continue
        section, name = match.group(1), match.group(3) or "_row"
        row = row_of.get(f"{section}[{match.group(2)}]")
        if row is not None:
            row.errors[name].extend(messages)
        elif section == "overrides":  # a day of the vacation range
            editor.errors["vacation_from"].extend(
                m for m in messages if m not in editor.errors["vacation_from"]
            )
        else:
            editor.general.extend(messages)
    if not exc.errors:
        editor.general.append(translate(exc.detail))
