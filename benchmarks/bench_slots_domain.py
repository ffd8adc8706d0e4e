"""Slot engine benchmark (a script, not a test): `python benchmarks/bench_slots_domain.py`.

Prints the median of several runs for
  * slots of one therapist over 60 days (realistic week, ~40 booked sessions);
  * next_opening for 1,000 therapists (next_openings_bulk);
each also as a ratio to a trivial baseline measured in the same run
(constructing 1,000 timezone-aware datetimes), so figures compare across machines.
"""

from __future__ import annotations

import random
import statistics
import time as clock
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta

from teletherapy.domain.availability import AvailabilitySettings, WeeklyRule, days_off
from teletherapy.domain.slots import (
    BookedSession,
    Schedule,
    generate_slots,
    next_openings_bulk,
)

NOW = datetime(2026, 2, 20, 15, 7, tzinfo=UTC)  # three weeks before the US DST change
ZONES = ["America/New_York", "America/Chicago", "America/Los_Angeles", "Europe/London"]
REPEATS = 7


def weekly_rules() -> list[WeeklyRule]:
    rules: list[WeeklyRule] = []
    for weekday in range(5):
        rules.append(WeeklyRule(weekday, time(9), time(12), "online"))
        rules.append(WeeklyRule(weekday, time(13), time(17), "in_office"))
    for weekday in (1, 3):
        rules.append(WeeklyRule(weekday, time(17), time(20), "home"))
    rules.append(WeeklyRule(5, time(10), time(14), "online"))
    return rules


def book_some(
    settings: AvailabilitySettings, count: int, rng: random.Random
) -> list[BookedSession]:
    """Book `count` offered slots picked at random."""
    rules, booked = weekly_rules(), list[BookedSession]()
    first, last = NOW.date(), NOW.date() + timedelta(days=settings.horizon_days)
    offered = generate_slots(settings, rules, [], [], NOW, first, last)
    for slot in rng.sample(offered, min(count, len(offered))):
        booked.append(BookedSession(slot.start, slot.end, slot.setting))
    return booked


def median_seconds(action: Callable[[], object]) -> float:
    timings = []
    for _ in range(REPEATS):
        started = clock.perf_counter()
        action()
        timings.append(clock.perf_counter() - started)
    return statistics.median(timings)


def baseline() -> list[datetime]:
    return [datetime(2026, 5, 1, 9, i % 60, i % 60, tzinfo=UTC) for i in range(1000)]


def main() -> None:
    rng = random.Random(20260308)
    one = AvailabilitySettings("America/New_York", max_per_day=8)
    one_booked = book_some(one, 40, rng)
    rules = weekly_rules()
    first, last = NOW.date(), NOW.date() + timedelta(days=60)

    schedules: dict[int, Schedule] = {}
    for therapist_id in range(1000):
        settings = AvailabilitySettings(
            rng.choice(ZONES),
            session_minutes=rng.choice([45, 50, 60]),
            min_notice_hours=rng.choice([12, 24, 48]),
            max_per_day=rng.choice([None, 4, 6]),
        )
        # One in ten is on vacation for the next three weeks; the rest are busy-ish.
        overrides = days_off(date(2026, 2, 20), date(2026, 3, 13)) if therapist_id % 10 == 0 else []
        booked = book_some(settings, 40, rng) if therapist_id % 50 == 0 else []
        if not booked:
            booked = [
                BookedSession(
                    NOW + timedelta(hours=h), NOW + timedelta(hours=h, minutes=50), "online"
                )
                for h in range(24, 24 * 4, 3)
            ]
        schedules[therapist_id] = Schedule(settings, rules, overrides, booked)

    slots = generate_slots(one, rules, [], one_booked, NOW, first, last)
    openings = next_openings_bulk(schedules, NOW)
    found = sum(1 for slot in openings.values() if slot is not None)

    base = median_seconds(baseline)
    one_slots = median_seconds(lambda: generate_slots(one, rules, [], one_booked, NOW, first, last))
    bulk = median_seconds(lambda: next_openings_bulk(schedules, NOW))

    print(f"median of {REPEATS} runs (time.perf_counter)")
    print(f"baseline: 1,000 aware datetimes          {base * 1e3:8.3f} ms   1.0x")
    print(
        f"slots, 1 therapist, 60 days, {len(one_booked)} booked  "
        f"{one_slots * 1e3:8.3f} ms  {one_slots / base:5.1f}x   ({len(slots)} slots)"
    )
    print(
        f"next_opening x 1,000 therapists          {bulk * 1e3:8.3f} ms  {bulk / base:5.1f}x"
        f"   ({found} found, {bulk / 1000 * 1e6:.1f} us each)"
    )


if __name__ == "__main__":
    main()
