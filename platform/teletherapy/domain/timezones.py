"""IANA time-zone names: which are canonical and what a legacy alias should be."""

from __future__ import annotations

# Legacy names and links that zoneinfo accepts but that are not canonical zones.
# People pick a zone by place; these map the common aliases to their canonical name.
ALIASES: dict[str, str] = {
    "US/Eastern": "America/New_York",
    "US/Central": "America/Chicago",
    "US/Mountain": "America/Denver",
    "US/Pacific": "America/Los_Angeles",
    "US/Alaska": "America/Anchorage",
    "US/Hawaii": "Pacific/Honolulu",
    "US/Arizona": "America/Phoenix",
    "US/Michigan": "America/Detroit",
    "US/East-Indiana": "America/Indiana/Indianapolis",
    "US/Aleutian": "America/Adak",
    "US/Samoa": "Pacific/Pago_Pago",
    "EST5EDT": "America/New_York",
    "CST6CDT": "America/Chicago",
    "MST7MDT": "America/Denver",
    "PST8PDT": "America/Los_Angeles",
    "EST": "America/Panama",
    "MST": "America/Phoenix",
    "HST": "Pacific/Honolulu",
    "Asia/Calcutta": "Asia/Kolkata",
    "Asia/Saigon": "Asia/Ho_Chi_Minh",
    "Asia/Katmandu": "Asia/Kathmandu",
    "Europe/Kiev": "Europe/Kyiv",
    "America/Buenos_Aires": "America/Argentina/Buenos_Aires",
    "America/Indianapolis": "America/Indiana/Indianapolis",
    "GB": "Europe/London",
    "Canada/Eastern": "America/Toronto",
    "Canada/Pacific": "America/Vancouver",
    "Mexico/General": "America/Mexico_City",
    "Universal": "UTC",
    "Zulu": "UTC",
    "GMT": "UTC",
    "Etc/UTC": "UTC",
    "Etc/GMT": "UTC",
}

_LEGACY_PREFIXES = ("US/", "Canada/", "Mexico/", "Brazil/", "Chile/", "Etc/", "SystemV/")


def canonical_zone_problem(name: str) -> str | None:
    """A message when `name` is a known alias or legacy zone, else None."""
    if name in ALIASES:
        return f"'{name}' is a legacy alias; use '{ALIASES[name]}'."
    if name.startswith(_LEGACY_PREFIXES) or ("/" not in name and name != "UTC"):
        return f"'{name}' is not a canonical IANA zone; use a Region/City name."
    return None
