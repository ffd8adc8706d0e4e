"""Whether a therapist's weekly hours can ever meet a client's preferred times.

A search with preferred days and times runs the slot engine for its first pass of
therapists, and for one that has no fitting slot the engine scans every day of the
horizon (about half of them in a typical search). Compared once per therapist in
minutes of the week, the weekly rules tell most of those apart at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from teletherapy.domain.matching_types import TimeWindow
from teletherapy.domain.slots import Schedule

_WEEK = 7 * 24 * 60


def _minutes(at: time) -> int:
    return at.hour * 60 + at.minute


@lru_cache(maxsize=256)
def _offsets(zone_key: str, first: date, days: int) -> frozenset[int]:
    """Every UTC offset (minutes) the zone has from `first` on for `days` days, read twice
    a day (offsets change at DST and last months: none is missed)."""
    zone = ZoneInfo(zone_key)
    found = set()
    for n in range(days + 1):
        for hour in (0, 12):
            at = datetime.combine(first + timedelta(days=n), time(hour), tzinfo=UTC)
            offset = at.astimezone(zone).utcoffset()
            if offset is not None:
                found.add(int(offset.total_seconds() // 60))
    return frozenset(found)


def may_ever_fit(
    schedule: Schedule,
    preferred: Sequence[TimeWindow],
    client_zone: ZoneInfo,
    setting: str | None,
    now: datetime,
) -> bool:
    """False only when no slot of `schedule` (in `setting`) can start in a preferred
    window on any date of its horizon: no dated override adds hours, and no weekly rule's
    hours, moved to the client's clock by any difference the two zones' offsets can have
    in the horizon, meet a preferred window. True is only a maybe: the engine decides.
    It never reads the booked sessions (services read those only for schedules it keeps)."""
    if any(o.available for o in schedule.overrides):
        return True  # dated hours: left to the engine
    first, days = now.date() - timedelta(days=1), schedule.settings.horizon_days + 3
    own = _offsets(schedule.settings.time_zone, first, days)
    client = _offsets(client_zone.key, first, days)
    # At any instant each zone has one of its offsets: every pairing covers the hours in
    # which one zone has changed for DST and the other not yet.
    shifts = {c - o for c in client for o in own}
    windows = [
        (w.weekday * 1440 + _minutes(w.start), w.weekday * 1440 + _minutes(w.end))
        for w in preferred
        if w.start < w.end
    ]
    for rule in schedule.rules:
        if setting is not None and rule.setting != setting:
            continue
        start = rule.weekday * 1440 + _minutes(rule.start)
        end = rule.weekday * 1440 + (_minutes(rule.end) or 1440)  # 00:00: the day's end
        if end <= start:
            return True  # not a rule the engine would lay out as such: let it decide
        for shift in shifts:
            for begin, finish in windows:
                for week in (-_WEEK, 0, _WEEK):  # the week wraps around
                    if begin + week < end + shift and finish + week > start + shift:
                        return True
    return False
