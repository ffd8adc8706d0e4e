"""vobject as an independent reader of our calendars, one calendar at a time."""

from __future__ import annotations

from typing import Any

import vobject
import vobject.icalendar


def read_calendar(text: str) -> Any:
    """vobject.readOne, with the time zones of this calendar only.

    vobject keeps the first VTIMEZONE it reads for a TZID for the rest of the process and
    reads every later calendar's times in that zone. Ours cover only the years of their
    events, so a test reading a calendar of 2028 after one of 2027 (the same worker,
    another test) read its times one hour off after the March change.
    """
    getattr(vobject.icalendar, "__tzidMap").clear()
    return vobject.readOne(text)
