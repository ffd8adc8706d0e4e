"""Therapist availability use cases: read and replace it, and next openings for many therapists.

The payload is the JSON shape of ``PUT /api/v1/me/availability`` (DESIGN.md) plus
``travel_buffer_minutes``, ``max_per_day``, ``max_per_week``,
``cancellation_window_hours`` and ``accepting_new_clients``. Pages and the API
both pass it here: values may be already typed (ints, ``time``, ``date``) or the
strings a form sends ("09:00", "2026-12-24", "50"). A field left out keeps its
saved value; ``weekly`` and ``overrides``, when given, replace the whole list.
Every problem is reported at once, keyed like the JSON (``weekly[0].end``).
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import delete, insert, select

from teletherapy.domain.availability import (
    SETTINGS,
    AvailabilitySettings,
    DateOverride,
    WeeklyRule,
    time_zone_error,
    validate_availability,
)
from teletherapy.domain.errors import NotFoundError, ValidationError
from teletherapy.domain.slots import Schedule, first_opening_where, next_openings_bulk
from teletherapy.extensions import db
from teletherapy.models import AvailabilityOverride, AvailabilityRule, TherapistProfile, User
from teletherapy.models import AvailabilitySettings as SettingsRow
from teletherapy.services.availability.openings import stored_next_openings
from teletherapy.services.availability.schedules import (
    load_schedules,
    load_schedules_at_once,
    settings_from_row,
)

logger = logging.getLogger(__name__)

DEFAULT_TIME_ZONE = "America/New_York"
SCALAR_FIELDS = (
    "session_minutes",
    "buffer_minutes",
    "travel_buffer_minutes",
    "min_notice_hours",
    "horizon_days",
    "cancellation_window_hours",
)
OPTIONAL_FIELDS = ("max_per_day", "max_per_week")
FIELDS = frozenset(
    {
        "time_zone",
        *SCALAR_FIELDS,
        *OPTIONAL_FIELDS,
        "accepting_new_clients",
        "weekly",
        "overrides",
    }
)
_TIME = re.compile(r"^(\d{1,2}):(\d{2})(?::00)?$")
_WHOLE = re.compile(r"^[+-]?\d{1,9}$")


# --- reading -------------------------------------------------------------------


def get_availability(*, therapist_id: int) -> dict[str, Any]:
    """The therapist's availability in the API's JSON shape (defaults when never saved)."""
    profile = _profile(therapist_id)
    row = db.session.get(SettingsRow, therapist_id)
    settings = settings_from_row(row, accepting_new_clients=profile.accepting_new_clients)
    if row is None:
        # Nothing saved yet: offer the person's own zone when it is acceptable.
        zone = db.session.scalar(select(User.time_zone).where(User.id == profile.user_id))
        if zone and time_zone_error(zone) is None:
            settings = AvailabilitySettings(
                time_zone=zone, accepting_new_clients=profile.accepting_new_clients
            )
    rules = db.session.scalars(
        select(AvailabilityRule)
        .where(AvailabilityRule.therapist_id == therapist_id)
        .order_by(AvailabilityRule.weekday, AvailabilityRule.start_time, AvailabilityRule.id)
    ).all()
    overrides = db.session.scalars(
        select(AvailabilityOverride)
        .where(AvailabilityOverride.therapist_id == therapist_id)
        .order_by(
            AvailabilityOverride.on_date,
            AvailabilityOverride.start_time,
            AvailabilityOverride.id,
        )
    ).all()
    return to_payload(
        settings,
        [WeeklyRule(r.weekday, r.start_time, r.end_time, r.setting) for r in rules],
        [
            DateOverride(o.on_date, o.is_available, o.start_time, o.end_time, o.setting)
            for o in overrides
        ],
    )


def to_payload(
    settings: AvailabilitySettings,
    rules: Sequence[WeeklyRule],
    overrides: Sequence[DateOverride],
) -> dict[str, Any]:
    """Domain values as the JSON shape (times "HH:MM", dates ISO)."""
    return {
        "time_zone": settings.time_zone,
        "session_minutes": settings.session_minutes,
        "buffer_minutes": settings.buffer_minutes,
        "min_notice_hours": settings.min_notice_hours,
        "horizon_days": settings.horizon_days,
        "weekly": [
            {
                "weekday": r.weekday,
                "start": _hhmm(r.start),
                "end": _hhmm(r.end),
                "setting": r.setting,
            }
            for r in rules
        ],
        "overrides": [_override_payload(o) for o in overrides],
        "travel_buffer_minutes": settings.travel_buffer_minutes,
        "max_per_day": settings.max_per_day,
        "max_per_week": settings.max_per_week,
        "cancellation_window_hours": settings.cancellation_window_hours,
        "accepting_new_clients": settings.accepting_new_clients,
    }


def _override_payload(override: DateOverride) -> dict[str, Any]:
    if not override.available:
        return {"date": override.on.isoformat(), "available": False}
    return {
        "date": override.on.isoformat(),
        "start": _hhmm(override.start),
        "end": _hhmm(override.end),
        "setting": override.setting,
    }


def _hhmm(value: time | None) -> str | None:
    return None if value is None else value.strftime("%H:%M")


# --- writing -------------------------------------------------------------------


def save_availability(*, therapist_id: int, payload: Mapping[str, Any]) -> dict[str, Any]:
    """Validate and replace settings, weekly rules and overrides in one commit.

    Raises ValidationError (nothing changed) listing every problem; returns the
    saved availability as get_availability would.
    """
    # Lock the profile row first: concurrent saves for one therapist take turns, so
    # each replaces the whole set instead of interleaving deletes and inserts
    # (SQLite writers are already serialised by BEGIN IMMEDIATE).
    try:
        apply_availability(therapist_id=therapist_id, payload=payload)
        db.session.commit()
    except Exception:
        db.session.rollback()  # releases the lock; nothing changed
        raise
    return get_availability(therapist_id=therapist_id)


def apply_availability(
    *, therapist_id: int, payload: Mapping[str, Any]
) -> tuple[AvailabilitySettings, list[WeeklyRule], list[DateOverride]]:
    """Validate and write the new availability inside the caller's transaction (no commit);
    returns what was written. The profile row is locked first."""
    profile = _profile(therapist_id, lock=True)
    unknown = sorted(str(key) for key in payload if key not in FIELDS)
    if unknown:
        raise ValidationError(
            "Unknown fields in the availability.",
            errors={key: ["Unknown field."] for key in unknown},
        )
    merged = {**get_availability(therapist_id=therapist_id), **payload}
    settings, rules, overrides = parse_availability(merged)
    validate_availability(settings, rules, overrides)  # the time zone too
    _replace(therapist_id, profile, settings, rules, overrides)
    logger.info(
        "availability written for therapist %s: %d rules, %d overrides",
        therapist_id,
        len(rules),
        len(overrides),
    )
    return settings, list(rules), list(overrides)


def _replace(
    therapist_id: int,
    profile: TherapistProfile,
    settings: AvailabilitySettings,
    rules: Sequence[WeeklyRule],
    overrides: Sequence[DateOverride],
) -> None:
    row = db.session.get(SettingsRow, therapist_id)
    if row is None:
        row = SettingsRow(therapist_id=therapist_id)
        db.session.add(row)
    row.time_zone = settings.time_zone
    row.session_minutes = settings.session_minutes
    row.buffer_minutes = settings.buffer_minutes
    row.travel_buffer_minutes = settings.travel_buffer_minutes
    row.min_notice_hours = settings.min_notice_hours
    row.horizon_days = settings.horizon_days
    row.max_per_day = settings.max_per_day
    row.max_per_week = settings.max_per_week
    row.cancellation_window_hours = settings.cancellation_window_hours
    profile.accepting_new_clients = settings.accepting_new_clients
    db.session.flush()
    db.session.execute(
        delete(AvailabilityRule).where(AvailabilityRule.therapist_id == therapist_id)
    )
    db.session.execute(
        delete(AvailabilityOverride).where(AvailabilityOverride.therapist_id == therapist_id)
    )
    if rules:
        db.session.execute(
            insert(AvailabilityRule),
            [
                {
                    "therapist_id": therapist_id,
                    "weekday": r.weekday,
                    "start_time": r.start,
                    "end_time": r.end,
                    "setting": r.setting,
                }
                for r in rules
            ],
        )
    if overrides:
        db.session.execute(
            insert(AvailabilityOverride),
            [
                {
                    "therapist_id": therapist_id,
                    "on_date": o.on,
                    "is_available": o.available,
                    "start_time": o.start,
                    "end_time": o.end,
                    "setting": o.setting,
                }
                for o in overrides
            ],
        )


def parse_availability(
    payload: Mapping[str, Any],
) -> tuple[AvailabilitySettings, list[WeeklyRule], list[DateOverride]]:
    """Domain values from a complete payload; ValidationError lists every unreadable field."""
    errors: dict[str, list[str]] = defaultdict(list)
    zone = payload.get("time_zone")
    if not isinstance(zone, str) or not zone.strip():
        errors["time_zone"].append("Choose a time zone, for example America/New_York.")
        zone = ""
    numbers: dict[str, int | None] = {}
    for name in SCALAR_FIELDS:
        numbers[name] = _whole(payload.get(name), name, errors, optional=False)
    for name in OPTIONAL_FIELDS:
        numbers[name] = _whole(payload.get(name), name, errors, optional=True)
    accepting = _boolean(payload.get("accepting_new_clients"), "accepting_new_clients", errors)

    rules: list[WeeklyRule] = []
    weekly = payload.get("weekly")
    if not isinstance(weekly, list | tuple):
        errors["weekly"].append("Give a list of weekly hours.")
        weekly = []
    for index, item in enumerate(weekly):
        key = f"weekly[{index}]"
        if not isinstance(item, Mapping):
            errors[key].append("Each weekly entry is an object with weekday, start, end, setting.")
            continue
        weekday = _whole(item.get("weekday"), f"{key}.weekday", errors, optional=False)
        start = _time(item.get("start"), f"{key}.start", errors)
        end = _time(item.get("end"), f"{key}.end", errors, is_end=True)
        setting = _setting(item.get("setting"), f"{key}.setting", errors)
        if weekday is not None and start is not None and end is not None and setting:
            rules.append(WeeklyRule(weekday, start, end, setting))

    overrides: list[DateOverride] = []
    given = payload.get("overrides")
    if not isinstance(given, list | tuple):
        errors["overrides"].append("Give a list of date overrides.")
        given = []
    for index, item in enumerate(given):
        key = f"overrides[{index}]"
        if not isinstance(item, Mapping):
            errors[key].append("Each override is an object with a date.")
            continue
        on = _date(item.get("date"), f"{key}.date", errors)
        raw_available = item.get("available")
        available = (
            True
            if raw_available in (None, "")
            else _boolean(raw_available, f"{key}.available", errors)
        )
        start = _time(item.get("start"), f"{key}.start", errors, optional=True)
        end = _time(item.get("end"), f"{key}.end", errors, optional=True, is_end=True)
        raw_setting = item.get("setting")
        setting = (
            None if raw_setting in (None, "") else _setting(raw_setting, f"{key}.setting", errors)
        )
        if on is not None and available is not None:
            overrides.append(DateOverride(on, available, start, end, setting))

    if errors:
        count = sum(len(messages) for messages in errors.values())
        noun = "problem" if count == 1 else "problems"
        raise ValidationError(f"The availability has {count} {noun}.", errors=dict(errors))
    settings = AvailabilitySettings(
        time_zone=zone.strip(),
        session_minutes=_required(numbers["session_minutes"]),
        buffer_minutes=_required(numbers["buffer_minutes"]),
        travel_buffer_minutes=_required(numbers["travel_buffer_minutes"]),
        min_notice_hours=_required(numbers["min_notice_hours"]),
        horizon_days=_required(numbers["horizon_days"]),
        max_per_day=numbers["max_per_day"],
        max_per_week=numbers["max_per_week"],
        cancellation_window_hours=_required(numbers["cancellation_window_hours"]),
        accepting_new_clients=bool(accepting),
    )
    return settings, rules, overrides


def _required(value: int | None) -> int:
    assert value is not None  # parse errors were raised before
    return value


def _whole(value: Any, key: str, errors: dict[str, list[str]], *, optional: bool) -> int | None:
    if isinstance(value, str):
        value = value.strip()
        if value == "":
            value = None
        elif _WHOLE.match(value):
            value = int(value)
    if value is None:
        if not optional:
            errors[key].append("Give a whole number.")
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        errors[key].append(
            "Give a whole number." + (" Leave empty for no limit." if optional else "")
        )
        return None
    whole: int = value
    return whole


def _boolean(value: Any, key: str, errors: dict[str, list[str]]) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in {"true", "on", "yes", "1"}:
        return True
    if isinstance(value, str) and value.strip().lower() in {"false", "off", "no", "0", ""}:
        return False
    errors[key].append("Give true or false.")
    return None


def _time(
    value: Any,
    key: str,
    errors: dict[str, list[str]],
    *,
    optional: bool = False,
    is_end: bool = False,
) -> time | None:
    if isinstance(value, time):
        return value
    if value is None or value == "":
        if not optional:
            errors[key].append("Give a time as HH:MM.")
        return None
    match = _TIME.match(value.strip()) if isinstance(value, str) else None
    if match is None:
        errors[key].append("Give a time as HH:MM, for example 09:00.")
        return None
    hours, minutes = int(match.group(1)), int(match.group(2))
    if hours == 24 and minutes == 0:
        if not is_end:
            errors[key].append("24:00 is midnight at the end of a day: use it only as an end.")
            return None
        return time(0, 0)  # "24:00" is midnight at the end of the day, stored as 00:00
    if hours > 23 or minutes > 59:
        errors[key].append("Give a time from 00:00 to 23:59 (24:00 for midnight at the end).")
        return None
    return time(hours, minutes)


def _date(value: Any, key: str, errors: dict[str, list[str]]) -> date | None:
    if isinstance(value, datetime):
        errors[key].append("Give a date as YYYY-MM-DD.")
        return None
    if isinstance(value, date):
        return value
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    errors[key].append("Give a date as YYYY-MM-DD.")
    return None


def _setting(value: Any, key: str, errors: dict[str, list[str]]) -> str | None:
    if isinstance(value, str) and value in SETTINGS:
        return value
    errors[key].append(f"Choose one of {', '.join(sorted(SETTINGS))}.")
    return None


def _profile(therapist_id: int, *, lock: bool = False) -> TherapistProfile:
    profile = db.session.get(TherapistProfile, therapist_id, with_for_update=lock or None)
    if profile is None:
        raise NotFoundError("No such therapist.")
    return profile


# --- next openings ---------------------------------------------------------------


def next_openings(
    *,
    therapist_ids: Iterable[int],
    setting: str | None,
    now: datetime,
    is_new_client: bool = True,
) -> dict[int, datetime | None]:
    """The first offered slot start (UTC) per therapist, None when there is none.

    A constant number of queries whatever the number of therapists; unknown ids
    map to None.
    """
    if setting is not None and setting not in SETTINGS:
        raise ValidationError(
            "Unknown setting.",
            errors={"setting": [f"Choose one of {', '.join(sorted(SETTINGS))}."]},
        )
    ids = list(dict.fromkeys(therapist_ids))
    if is_new_client:  # what matching shows: kept in a table, current with each calendar
        return stored_next_openings(ids, setting=setting, now=now)
    schedules = load_schedules(ids, now=now)
    openings = next_openings_bulk(schedules, now, setting, is_new_client=is_new_client)
    result: dict[int, datetime | None] = {}
    for therapist_id in ids:
        slot = openings.get(therapist_id)
        result[therapist_id] = None if slot is None else slot.start
    return result


def next_openings_fitting(
    *,
    therapist_ids: Iterable[int],
    setting: str | None,
    now: datetime,
    fits: Callable[[datetime], bool],
    is_new_client: bool = True,
    may_fit: Callable[[datetime, datetime], bool] | None = None,
    may_ever_fit: Callable[[Schedule], bool] | None = None,
) -> dict[int, datetime | None]:
    """The first offered slot start per therapist that `fits` (preferred days and times);
    `may_fit` skips whole windows (see slots.first_opening_where), `may_ever_fit` whole
    schedules (False only when none of its slots can fit). For the shown few of a
    search: their schedules in one round trip on PostgreSQL."""
    ids = list(dict.fromkeys(therapist_ids))
    # Those may_ever_fit rules out (it reads no booked session) are not loaded whole.
    schedules = load_schedules_at_once(ids, now=now, only_if=may_ever_fit)
    result: dict[int, datetime | None] = {}
    for therapist_id in ids:
        schedule = schedules.get(therapist_id)
        slot = (
            None
            if schedule is None
            else first_opening_where(
                schedule, now, fits, setting, is_new_client=is_new_client, may_fit=may_fit
            )
        )
        result[therapist_id] = None if slot is None else slot.start
    return result
