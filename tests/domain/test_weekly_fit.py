"""may_ever_fit never says no to a schedule the slot engine would find a preferred slot in."""

from __future__ import annotations

import random
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

from teletherapy.domain.availability import AvailabilitySettings, DateOverride, WeeklyRule
from teletherapy.domain.fees import FeeBand
from teletherapy.domain.matching import PreferredTimes
from teletherapy.domain.matching_types import MatchRequest, TimeWindow
from teletherapy.domain.slots import Schedule, first_opening_where
from teletherapy.domain.weekly_fit import may_ever_fit

ZONES = (
    "America/New_York", "America/Los_Angeles", "America/Phoenix", "Pacific/Honolulu",
    "Europe/London", "Australia/Sydney", "Australia/Lord_Howe", "Asia/Kolkata",
    "Pacific/Chatham", "America/Sao_Paulo",
)  # fmt: skip
# Near the DST changes of both hemispheres, and far from them.
NOWS = (
    datetime(2026, 12, 2, 15, tzinfo=UTC),
    datetime(2027, 3, 1, 9, tzinfo=UTC),
    datetime(2027, 3, 13, 23, tzinfo=UTC),
    datetime(2027, 4, 2, 5, tzinfo=UTC),
    datetime(2027, 9, 25, 12, tzinfo=UTC),
    datetime(2027, 10, 30, 18, tzinfo=UTC),
)
BAND = FeeBand("d", "Standard fee", 10000, 20000, None)


def _clock(rng: random.Random, low: int, high: int) -> time:
    return time(rng.randint(low, high), rng.choice((0, 15, 30, 45)))


def _schedule(rng: random.Random) -> Schedule:
    rules = []
    for _ in range(rng.randint(1, 4)):
        start = _clock(rng, 0, 21)
        end = time(0) if rng.random() < 0.15 else _clock(rng, start.hour + 1, 23)
        rules.append(WeeklyRule(rng.randrange(7), start, end, rng.choice(("online", "home"))))
    overrides = []
    if rng.random() < 0.1:
        overrides.append(DateOverride(NOWS[0].date(), True, time(18), time(20), "online"))
    settings = AvailabilitySettings(
        time_zone=rng.choice(ZONES),
        min_notice_hours=rng.choice((1, 24)),
        horizon_days=rng.choice((14, 60)),
    )
    return Schedule(settings=settings, rules=tuple(rules), overrides=tuple(overrides))


def _request(rng: random.Random) -> MatchRequest:
    windows = []
    for _ in range(rng.randint(1, 2)):
        start = _clock(rng, 0, 21)
        windows.append(TimeWindow(rng.randrange(7), start, _clock(rng, start.hour + 1, 23)))
    return MatchRequest(
        setting="online",
        state="CA",
        fee_band=BAND,
        time_zone=rng.choice(ZONES),
        preferred_times=tuple(windows),
    )


def test_a_schedule_it_rules_out_has_no_preferred_slot_in_the_engine() -> None:
    rng = random.Random(20)
    ruled_out = fitting = 0
    for _ in range(1500):
        schedule, request, now = _schedule(rng), _request(rng), rng.choice(NOWS)
        times = PreferredTimes(request)
        found = first_opening_where(schedule, now, times.fits, "online", may_fit=times.may_fit)
        maybe = may_ever_fit(schedule, request.preferred_times, request.zone, "online", now)
        if not maybe:
            assert found is None, (schedule, request, now, found)
            ruled_out += 1
        fitting += found is not None
    # Not vacuous: both answers are common.
    assert ruled_out > 300 and fitting > 150


def test_the_offsets_of_both_zones_over_the_horizon_are_paired() -> None:
    """New York's hours meet a Los Angeles window only in the hours of a DST morning when
    one zone has changed and the other not yet: those pairings are kept."""
    settings = AvailabilitySettings(time_zone="America/New_York", horizon_days=20)
    schedule = Schedule(settings=settings, rules=(WeeklyRule(6, time(3), time(4), "online"),))
    zone = ZoneInfo("America/Los_Angeles")
    window = (TimeWindow(5, time(23), time(23, 59)),)  # Saturday 23:00 in Los Angeles
    far = datetime(2027, 1, 10, tzinfo=UTC)
    near = datetime(2027, 3, 1, tzinfo=UTC)  # the horizon holds 14 March
    assert not may_ever_fit(schedule, window, zone, "online", far)
    assert may_ever_fit(schedule, window, zone, "online", near)
