"""Demo availability: realistic, deterministic working hours for every demo therapist (bulk)."""

from __future__ import annotations

import random
from datetime import time
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert

from teletherapy.extensions import db
from teletherapy.models import AvailabilityRule
from teletherapy.models import AvailabilitySettings as SettingsRow

if TYPE_CHECKING:
    from teletherapy.demo.seed import DemoTherapist

Window = tuple[int, time, time, str]  # weekday, start, end, setting

MON, TUE, WED, THU, FRI, SAT = range(6)


def nyc_week(index: int) -> list[Window]:
    """Demo therapists 1-5: every setting, every weekday, two evenings (they differ by index)."""
    windows: list[Window] = []
    for day in (MON, TUE, WED, THU, FRI):
        windows.append((day, time(9), time(12), "in_office"))
        setting = "home" if day in (TUE, THU) else "online"
        windows.append((day, time(13), time(17), setting))
    for day in sorted({index % 5, (index + 2) % 5}):
        windows.append((day, time(18), time(20, 30), "online"))
    if index % 2:
        windows.append((SAT, time(10), time(13), "online"))
    return windows


def varied_week(rng: random.Random) -> list[Window]:
    """Anyone else: three to five workdays, a morning and an afternoon block, some evenings."""
    offered = [s for s, chance in (("online", 0.85), ("in_office", 0.55)) if rng.random() < chance]
    does_home = rng.random() < 0.2
    if not offered:
        offered = ["online"]
    days = sorted(rng.sample([MON, TUE, WED, THU, FRI], rng.randint(3, 5)))
    if rng.random() < 0.2:
        days.append(SAT)
    home_days = set(rng.sample(days, min(2, len(days)))) if does_home else set()
    morning_start = rng.choice([8, 9, 9, 10])
    afternoon_start = rng.choice([13, 13, 14])
    windows: list[Window] = []
    evening = "online" if "online" in offered else offered[0]
    for day in days:
        morning_end = morning_start + rng.choice([3, 3, 4])
        windows.append((day, time(morning_start), time(morning_end), rng.choice(offered)))
        if day == SAT:
            continue
        start = max(afternoon_start, morning_end + 1)  # a lunch break
        end = start + rng.choice([3, 4])
        setting = "home" if day in home_days else rng.choice(offered)
        windows.append((day, time(start), time(end), setting))
        if rng.random() < 0.25:
            windows.append((day, time(max(18, end)), time(max(18, end) + 3), evening))
    return windows


def seed_demo_availability(batch: list[tuple[DemoTherapist, int]]) -> None:
    """A therapist step: settings and weekly rules for one batch, two bulk inserts.

    Core inserts on the tables (not the ORM bulk path): about 2 s per 20,000 therapists.
    """
    settings_rows: list[dict[str, Any]] = []
    rule_rows: list[dict[str, Any]] = []
    for therapist, profile_id in batch:
        rng = random.Random(therapist.rng_seed * 7919 + 17)
        if therapist.index <= 5:
            windows = nyc_week(therapist.index)
            session, buffer, max_day, max_week = 50, 10, None, None
        else:
            windows = varied_week(rng)
            session = rng.choice([50, 50, 50, 50, 45, 60])
            buffer = rng.choice([10, 10, 10, 5, 15])
            max_day = rng.choice([None, None, 6, 7, 8])
            max_week = rng.choice([None, None, 25, 30])
        settings_rows.append(
            {
                "therapist_id": profile_id,
                "time_zone": therapist.time_zone,
                "session_minutes": session,
                "buffer_minutes": buffer,
                "travel_buffer_minutes": rng.choice([20, 30, 30, 45]),
                "min_notice_hours": 24,
                "horizon_days": rng.choice([60, 60, 60, 30, 90]),
                "max_per_day": max_day,
                "max_per_week": max_week,
                "cancellation_window_hours": rng.choice([24, 24, 24, 48]),
            }
        )
        rule_rows.extend(
            {
                "therapist_id": profile_id,
                "weekday": weekday,
                "start_time": start,
                "end_time": end,
                "setting": setting,
            }
            for weekday, start, end, setting in windows
        )
    db.session.execute(insert(db.metadata.tables[SettingsRow.__tablename__]), settings_rows)
    if rule_rows:
        db.session.execute(insert(db.metadata.tables[AvailabilityRule.__tablename__]), rule_rows)
