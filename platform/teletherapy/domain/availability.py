"""A therapist's availability: weekly rules, date overrides, settings, and their validation.

Choices made here (the rest of the domain relies on them):

* Times are wall-clock in the therapist's IANA ``time_zone``. ``end == 00:00``
  means midnight at the *end* of the day (``time`` cannot hold 24:00), so
  ``20:00-00:00`` is the evening until midnight. A window never crosses
  midnight: overnight availability is two rules (Mon 22:00-00:00, Tue 00:00-02:00).
* Windows on the same weekday (or the same override date) may not overlap,
  whatever their settings: a therapist cannot be online and on a home visit at
  once. Touching windows (09:00-12:00, 12:00-17:00) are fine.
* A vacation is several day-off overrides (``days_off(first, last)`` builds
  them); this keeps the JSON shape of ``overrides`` one entry per date.
* A date with any override replaces that weekday's rules for that date. A date
  may hold several available overrides (morning online, afternoon in office) but
  a day off excludes any other override on the same date.
* Time zones must be canonical IANA names: ``UTC`` or ``Area/Location`` as
  listed by ``zoneinfo.available_timezones()``. Legacy aliases (``US/Eastern``,
  ``EST5EDT``, ``Etc/GMT+5``, ``GB``, renamed cities such as ``Asia/Calcutta``)
  are refused, suggesting the canonical name. The installed ``tzdata`` lists
  names but not which are links, so the aliases are a maintained table
  (``LEGACY_TIME_ZONES``) plus two structural rules: every name without a ``/``
  except ``UTC`` is legacy, and so is everything under ``US/``, ``Canada/``,
  ``Mexico/``, ``Brazil/``, ``Chile/``, ``Etc/`` and ``SystemV/``. Links that name
  a real place merged into another zone (``Europe/Oslo``, ``America/Marigot``)
  are accepted: people live there and look for that name.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, available_timezones

from teletherapy.domain.errors import Text, ValidationError

__all__ = [
    "SETTINGS",
    "AvailabilitySettings",
    "DateOverride",
    "WeeklyRule",
    "days_off",
    "local_to_utc",
    "time_zone_error",
    "validate_availability",
]

SETTINGS: frozenset[str] = frozenset({"online", "in_office", "home"})

# Ranges accepted by validate_availability (inclusive).
SESSION_MINUTES = (15, 240)
BUFFER_MINUTES = (0, 120)
MIN_NOTICE_HOURS = (0, 24 * 30)
HORIZON_DAYS = (1, 365)
MAX_PER_DAY = (1, 24)
MAX_PER_WEEK = (1, 100)
CANCELLATION_WINDOW_HOURS = (0, 24 * 7)


@dataclass(frozen=True, slots=True)
class WeeklyRule:
    """Every `weekday` (0 = Monday) from `start` to `end` wall-clock, in one setting."""

    weekday: int
    start: time
    end: time
    setting: str


@dataclass(frozen=True, slots=True)
class DateOverride:
    """One date's exception: a day off (available=False) or hours replacing the weekly rules."""

    on: date
    available: bool = True
    start: time | None = None
    end: time | None = None
    setting: str | None = None


@dataclass(frozen=True, slots=True)
class AvailabilitySettings:
    """How a therapist's sessions are sized, spaced and limited."""

    time_zone: str
    session_minutes: int = 50
    buffer_minutes: int = 10
    # Before AND after every home visit, on top of buffer_minutes after it.
    travel_buffer_minutes: int = 30
    min_notice_hours: int = 24
    horizon_days: int = 60
    max_per_day: int | None = None
    max_per_week: int | None = None
    cancellation_window_hours: int = 24
    accepting_new_clients: bool = True

    @property
    def zone(self) -> ZoneInfo:
        """The ZoneInfo (cached by zoneinfo); raises for a zone validation would refuse."""
        return ZoneInfo(self.time_zone)


def days_off(first_on: date, last_on: date) -> list[DateOverride]:
    """A vacation: one day-off override per date from `first_on` to `last_on` inclusive."""
    count = (last_on - first_on).days + 1
    return [DateOverride(on=first_on + timedelta(days=i), available=False) for i in range(count)]


def local_to_utc(on: date, at: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of wall-clock `at` on `on` in `zone`, with the domain's DST rule.

    * Fall-back overlap (the hour happens twice): the first occurrence (fold=0),
      so 01:30 on 2026-11-01 in New York is 01:30 EDT (05:30Z).
    * Spring-forward gap (the time never happens): the first instant after the
      gap, so 02:30 on 2026-03-08 in New York is 03:00 EDT (07:00Z). Unlike
      Python's own fold=0 shift (which would give 03:30), this keeps the mapping
      monotonic: windows that are ordered and disjoint in wall-clock time stay
      ordered and disjoint in UTC, and a window inside the gap becomes empty.
    """
    local = datetime.combine(on, at.replace(tzinfo=None, fold=0), tzinfo=zone)
    instant = local.astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) == local.replace(tzinfo=None):
        return instant
    # Nonexistent wall time. fold=1 applies the post-transition offset and lands
    # before the transition; fold=0 lands after it. Bisect (whole seconds) for the
    # transition instant: the first instant whose local time is past `at`.
    before = local.replace(fold=1).astimezone(UTC)
    after = instant
    naive = local.replace(tzinfo=None)
    while after - before > timedelta(seconds=1):
        middle = before + timedelta(seconds=(after - before) // timedelta(seconds=2))
        if middle.astimezone(zone).replace(tzinfo=None) >= naive:
            after = middle
        else:
            before = middle
    return after


# --- time zones -------------------------------------------------------------

LEGACY_PREFIXES = ("US/", "Canada/", "Mexico/", "Brazil/", "Chile/", "Etc/", "SystemV/")

# Legacy alias -> canonical name (IANA `backward` file, renamed cities and POSIX-style names).
LEGACY_TIME_ZONES: dict[str, str] = {
    "EST5EDT": "America/New_York",
    "CST6CDT": "America/Chicago",
    "MST7MDT": "America/Denver",
    "PST8PDT": "America/Los_Angeles",
    "EST": "America/New_York",
    "MST": "America/Phoenix",
    "HST": "Pacific/Honolulu",
    "CET": "Europe/Paris",
    "MET": "Europe/Paris",
    "EET": "Europe/Athens",
    "WET": "Europe/Lisbon",
    "GMT": "UTC",
    "GMT0": "UTC",
    "GMT+0": "UTC",
    "GMT-0": "UTC",
    "Greenwich": "UTC",
    "UCT": "UTC",
    "Universal": "UTC",
    "Zulu": "UTC",
    "Etc/UTC": "UTC",
    "Etc/UCT": "UTC",
    "Etc/GMT": "UTC",
    "Etc/GMT0": "UTC",
    "Etc/GMT+0": "UTC",
    "Etc/GMT-0": "UTC",
    "Etc/Greenwich": "UTC",
    "Etc/Universal": "UTC",
    "Etc/Zulu": "UTC",
    "US/Eastern": "America/New_York",
    "US/Central": "America/Chicago",
    "US/Mountain": "America/Denver",
    "US/Pacific": "America/Los_Angeles",
    "US/Alaska": "America/Anchorage",
    "US/Aleutian": "America/Adak",
    "US/Arizona": "America/Phoenix",
    "US/East-Indiana": "America/Indiana/Indianapolis",
    "US/Indiana-Starke": "America/Indiana/Knox",
    "US/Michigan": "America/Detroit",
    "US/Hawaii": "Pacific/Honolulu",
    "US/Samoa": "Pacific/Pago_Pago",
    "Canada/Atlantic": "America/Halifax",
    "Canada/Central": "America/Winnipeg",
    "Canada/Eastern": "America/Toronto",
    "Canada/Mountain": "America/Edmonton",
    "Canada/Newfoundland": "America/St_Johns",
    "Canada/Pacific": "America/Vancouver",
    "Canada/Saskatchewan": "America/Regina",
    "Canada/Yukon": "America/Whitehorse",
    "Mexico/BajaNorte": "America/Tijuana",
    "Mexico/BajaSur": "America/Mazatlan",
    "Mexico/General": "America/Mexico_City",
    "Brazil/Acre": "America/Rio_Branco",
    "Brazil/DeNoronha": "America/Noronha",
    "Brazil/East": "America/Sao_Paulo",
    "Brazil/West": "America/Manaus",
    "Chile/Continental": "America/Santiago",
    "Chile/EasterIsland": "Pacific/Easter",
    "Cuba": "America/Havana",
    "Egypt": "Africa/Cairo",
    "Eire": "Europe/Dublin",
    "GB": "Europe/London",
    "GB-Eire": "Europe/London",
    "Hongkong": "Asia/Hong_Kong",
    "Iceland": "Atlantic/Reykjavik",
    "Iran": "Asia/Tehran",
    "Israel": "Asia/Jerusalem",
    "Jamaica": "America/Jamaica",
    "Japan": "Asia/Tokyo",
    "Kwajalein": "Pacific/Kwajalein",
    "Libya": "Africa/Tripoli",
    "NZ": "Pacific/Auckland",
    "NZ-CHAT": "Pacific/Chatham",
    "Navajo": "America/Denver",
    "PRC": "Asia/Shanghai",
    "Poland": "Europe/Warsaw",
    "Portugal": "Europe/Lisbon",
    "ROC": "Asia/Taipei",
    "ROK": "Asia/Seoul",
    "Singapore": "Asia/Singapore",
    "Turkey": "Europe/Istanbul",
    "W-SU": "Europe/Moscow",
    "Australia/ACT": "Australia/Sydney",
    "Australia/Canberra": "Australia/Sydney",
    "Australia/NSW": "Australia/Sydney",
    "Australia/LHI": "Australia/Lord_Howe",
    "Australia/North": "Australia/Darwin",
    "Australia/Queensland": "Australia/Brisbane",
    "Australia/South": "Australia/Adelaide",
    "Australia/Tasmania": "Australia/Hobart",
    "Australia/Victoria": "Australia/Melbourne",
    "Australia/West": "Australia/Perth",
    "Australia/Yancowinna": "Australia/Broken_Hill",
    "America/Buenos_Aires": "America/Argentina/Buenos_Aires",
    "America/Catamarca": "America/Argentina/Catamarca",
    "America/Argentina/ComodRivadavia": "America/Argentina/Catamarca",
    "America/Cordoba": "America/Argentina/Cordoba",
    "America/Rosario": "America/Argentina/Cordoba",
    "America/Jujuy": "America/Argentina/Jujuy",
    "America/Mendoza": "America/Argentina/Mendoza",
    "America/Indianapolis": "America/Indiana/Indianapolis",
    "America/Fort_Wayne": "America/Indiana/Indianapolis",
    "America/Knox_IN": "America/Indiana/Knox",
    "America/Louisville": "America/Kentucky/Louisville",
    "America/Atka": "America/Adak",
    "America/Ensenada": "America/Tijuana",
    "America/Santa_Isabel": "America/Tijuana",
    "America/Godthab": "America/Nuuk",
    "America/Porto_Acre": "America/Rio_Branco",
    "America/Shiprock": "America/Denver",
    "America/Virgin": "America/St_Thomas",
    "Antarctica/South_Pole": "Pacific/Auckland",
    "Asia/Ashkhabad": "Asia/Ashgabat",
    "Asia/Calcutta": "Asia/Kolkata",
    "Asia/Chongqing": "Asia/Shanghai",
    "Asia/Chungking": "Asia/Shanghai",
    "Asia/Harbin": "Asia/Shanghai",
    "Asia/Dacca": "Asia/Dhaka",
    "Asia/Istanbul": "Europe/Istanbul",
    "Asia/Katmandu": "Asia/Kathmandu",
    "Asia/Macao": "Asia/Macau",
    "Asia/Rangoon": "Asia/Yangon",
    "Asia/Saigon": "Asia/Ho_Chi_Minh",
    "Asia/Tel_Aviv": "Asia/Jerusalem",
    "Asia/Thimbu": "Asia/Thimphu",
    "Asia/Ujung_Pandang": "Asia/Makassar",
    "Asia/Ulan_Bator": "Asia/Ulaanbaatar",
    "Atlantic/Faeroe": "Atlantic/Faroe",
    "Europe/Belfast": "Europe/London",
    "Europe/Kiev": "Europe/Kyiv",
    "Europe/Nicosia": "Asia/Nicosia",
    "Europe/Tiraspol": "Europe/Chisinau",
    "Pacific/Enderbury": "Pacific/Kanton",
    "Pacific/Johnston": "Pacific/Honolulu",
    "Pacific/Ponape": "Pacific/Pohnpei",
    "Pacific/Samoa": "Pacific/Pago_Pago",
    "Pacific/Truk": "Pacific/Chuuk",
    "Pacific/Yap": "Pacific/Chuuk",
    "Africa/Asmera": "Africa/Asmara",
    "Africa/Timbuktu": "Africa/Bamako",
}


@lru_cache(maxsize=1)
def _known_time_zones() -> frozenset[str]:
    return frozenset(available_timezones())


_DAY_OFF_HAS_NO = {
    "start": Text("A day off has no start."),
    "end": Text("A day off has no end."),
    "setting": Text("A day off has no setting."),
}
_GIVE_A_TIME = {
    "start": Text("Give a start time, or mark the date unavailable."),
    "end": Text("Give an end time, or mark the date unavailable."),
}


def time_zone_error(name: str) -> str | None:
    """Why `name` is not an acceptable therapist/client time zone, or None when it is."""
    if not isinstance(name, str) or not name:
        return "Choose a time zone, for example America/New_York."
    if name not in _known_time_zones():
        return Text(
            "Unknown time zone %(name)s; use an IANA name such as America/New_York.",
            name=repr(name),
        )
    canonical = LEGACY_TIME_ZONES.get(name)
    if canonical is not None:
        return Text(
            "%(name)s is a legacy alias; use the canonical name %(canonical)s.",
            name=repr(name),
            canonical=repr(canonical),
        )
    if name != "UTC" and ("/" not in name or name.startswith(LEGACY_PREFIXES)):
        return Text(
            "%(name)s is a legacy alias; use an Area/City name such as America/New_York.",
            name=repr(name),
        )
    return None


# --- validation --------------------------------------------------------------


def validate_availability(
    settings: AvailabilitySettings,
    rules: Sequence[WeeklyRule],
    overrides: Sequence[DateOverride] = (),
) -> None:
    """Raise ValidationError listing every problem, keyed like the JSON (`weekly[0].end`)."""
    errors: dict[str, list[str]] = defaultdict(list)
    _check_settings(settings, errors)
    day_windows: dict[int, list[tuple[time, time, int]]] = defaultdict(list)
    for index, rule in enumerate(rules):
        key = f"weekly[{index}]"
        if not 0 <= rule.weekday <= 6 or isinstance(rule.weekday, bool):
            errors[f"{key}.weekday"].append("Weekday must be 0 (Monday) to 6 (Sunday).")
        if rule.setting not in SETTINGS:
            errors[f"{key}.setting"].append(_setting_message(rule.setting))
        if _check_window(rule.start, rule.end, key, errors):
            day_windows[rule.weekday].append((rule.start, rule.end, index))
    for windows in day_windows.values():
        _check_no_overlap(windows, "weekly", errors)

    date_windows: dict[date, list[tuple[time, time, int]]] = defaultdict(list)
    day_off_at: dict[date, int] = {}
    seen_at: dict[date, int] = {}
    for index, override in enumerate(overrides):
        key = f"overrides[{index}]"
        if override.on in day_off_at or (not override.available and override.on in seen_at):
            errors[f"{key}.date"].append(
                "A day off cannot be combined with other overrides on the same date."
            )
        seen_at.setdefault(override.on, index)
        if not override.available:
            day_off_at[override.on] = index
            for name in ("start", "end", "setting"):
                if getattr(override, name) is not None:
                    errors[f"{key}.{name}"].append(_DAY_OFF_HAS_NO[name])
            continue
        if override.setting is None:
            errors[f"{key}.setting"].append("Choose a setting for these hours.")
        elif override.setting not in SETTINGS:
            errors[f"{key}.setting"].append(_setting_message(override.setting))
        if override.start is None or override.end is None:
            for name in ("start", "end"):
                if getattr(override, name) is None:
                    errors[f"{key}.{name}"].append(_GIVE_A_TIME[name])
            continue
        if _check_window(override.start, override.end, key, errors):
            date_windows[override.on].append((override.start, override.end, index))
    for windows in date_windows.values():
        _check_no_overlap(windows, "overrides", errors)

    if errors:
        count = sum(len(messages) for messages in errors.values())
        summary = (
            Text("The availability has 1 problem.")
            if count == 1
            else Text("The availability has %(count)d problems.", count=count)
        )
        raise ValidationError(summary, errors=dict(errors))


def _check_settings(settings: AvailabilitySettings, errors: dict[str, list[str]]) -> None:
    zone_problem = time_zone_error(settings.time_zone)
    if zone_problem:
        errors["time_zone"].append(zone_problem)
    ranges: list[tuple[str, int | None, tuple[int, int], bool]] = [
        ("session_minutes", settings.session_minutes, SESSION_MINUTES, False),
        ("buffer_minutes", settings.buffer_minutes, BUFFER_MINUTES, False),
        ("travel_buffer_minutes", settings.travel_buffer_minutes, BUFFER_MINUTES, False),
        ("min_notice_hours", settings.min_notice_hours, MIN_NOTICE_HOURS, False),
        ("horizon_days", settings.horizon_days, HORIZON_DAYS, False),
        ("max_per_day", settings.max_per_day, MAX_PER_DAY, True),
        ("max_per_week", settings.max_per_week, MAX_PER_WEEK, True),
        (
            "cancellation_window_hours",
            settings.cancellation_window_hours,
            CANCELLATION_WINDOW_HOURS,
            False,
        ),
    ]
    for name, value, (low, high), optional in ranges:
        if value is None and optional:
            continue
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            errors[name].append(
                Text(
                    "Must be a whole number from %(low)d to %(high)d "
                    "(or leave empty for no limit).",
                    low=low,
                    high=high,
                )
                if optional
                else Text("Must be a whole number from %(low)d to %(high)d.", low=low, high=high)
            )
    if (
        not errors.get("min_notice_hours")
        and not errors.get("horizon_days")
        and settings.min_notice_hours >= settings.horizon_days * 24
    ):
        errors["min_notice_hours"].append(
            "Minimum notice must be shorter than the booking horizon, or nothing can be booked."
        )
    if (
        settings.max_per_day is not None
        and settings.max_per_week is not None
        and not errors.get("max_per_day")
        and not errors.get("max_per_week")
        and settings.max_per_day > settings.max_per_week
    ):
        errors["max_per_day"].append("The daily limit cannot exceed the weekly limit.")


def _check_window(start: time, end: time, key: str, errors: dict[str, list[str]]) -> bool:
    """Record problems with one start/end pair; True when it is usable for overlap checks."""
    usable = True
    for name, value in (("start", start), ("end", end)):
        if value.tzinfo is not None or value.second or value.microsecond:
            errors[f"{key}.{name}"].append("Use a wall-clock time in whole minutes (HH:MM).")
            usable = False
    if usable and _end_minutes(end) <= _minutes(start):
        errors[f"{key}.end"].append(
            "End must be after start (use 00:00 for midnight at the end of the day)."
        )
        usable = False
    return usable


def _check_no_overlap(
    windows: list[tuple[time, time, int]], section: str, errors: dict[str, list[str]]
) -> None:
    windows.sort(key=lambda item: (_minutes(item[0]), item[2]))
    latest_end, latest_index = -1, -1
    for start, end, index in windows:
        if _minutes(start) < latest_end:
            errors[f"{section}[{index}].start"].append(
                Text(
                    "Overlaps %(other)s; one person cannot be in two places.",
                    other=f"{section}[{latest_index}]",
                )
            )
        if _end_minutes(end) > latest_end:
            latest_end, latest_index = _end_minutes(end), index


def _minutes(value: time) -> int:
    return value.hour * 60 + value.minute


def _end_minutes(value: time) -> int:
    """End times: 00:00 is midnight at the end of the day."""
    return _minutes(value) or 24 * 60


def _setting_message(value: object) -> str:
    return Text(
        "Unknown setting %(value)s; choose one of %(choices)s.",
        value=repr(value),
        choices=", ".join(sorted(SETTINGS)),
    )
