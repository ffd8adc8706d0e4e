"""Next opening for 1,000 therapists through the service (a script, not a test).

    .venv/bin/python benchmarks/bench_next_openings.py [--therapists N] [--repeats R]

Seeds N demo therapists (with the demo availability) into a fresh SQLite file,
books a few sessions for the 1,000 candidates, then prints the median time of
``services.availability.next_openings`` for those 1,000 (read from the stored
openings table, see services/availability/openings.py) (one setting, and any
setting) and of ``GET /healthz`` through the Flask test client, measured in the
same run, with their ratio. The same runs on PostgreSQL when BENCH_DATABASE_URL
(or TEST_DATABASE_URL) is set: that database's public schema is DROPPED and
rebuilt, so never point it at data you want to keep.

`--onto URL` runs the PostgreSQL half on a database `seed_scale.py` has filled (100,000
therapists with their stored openings, 1,000,000 sessions): nothing is dropped or
added; 1,000 of its therapists are drawn at random and asked at the real clock's now.
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import statistics
import tempfile
import time as clock
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import create_engine, func, insert, select, text

from teletherapy import create_app
from teletherapy.clock import utcnow
from teletherapy.demo.seed import seed_demo
from teletherapy.domain.slots import Schedule, generate_slots
from teletherapy.extensions import db
from teletherapy.models import Booking, TherapistProfile, User
from teletherapy.services.availability.openings import write_openings
from teletherapy.services.availability.rules import next_openings
from teletherapy.services.availability.schedules import load_schedules

NOW = datetime(2026, 10, 26, 15, 7, tzinfo=UTC)  # the week the US falls back
CANDIDATES = 1000


def median_seconds(action: Callable[[], object], repeats: int) -> float:
    timings = []
    for _ in range(repeats):
        db.session.remove()  # nothing cached in the identity map between runs
        started = clock.perf_counter()
        action()
        timings.append(clock.perf_counter() - started)
    return statistics.median(timings)


def build_app(url: str, instance: Path) -> Flask:
    from flask_migrate import upgrade

    app = create_app(
        {
            "SECRET_KEY": "bench",
            "SQLALCHEMY_DATABASE_URI": url,
            "RATELIMIT_ENABLED": False,
            "PUBLIC_URL": "http://bench",
        },
        instance_path=instance,
    )
    with app.app_context():
        upgrade()
    return app


def book_some(ids: list[int], rng: random.Random) -> int:
    """Three confirmed sessions for most candidates, on slots the engine offers."""
    client_id = db.session.scalar(select(User.id).where(User.role == "client"))
    schedules = load_schedules(ids, now=NOW)
    rows: list[dict[str, Any]] = []
    for therapist_id, schedule in schedules.items():
        if therapist_id % 10 == 0:
            continue  # some have a free calendar
        s = schedule.settings
        first = NOW.date() + timedelta(days=1)
        free = Schedule(settings=s, rules=schedule.rules, overrides=schedule.overrides)
        offered = generate_slots(free, NOW, first, first + timedelta(days=14))
        for slot in rng.sample(offered[:12], min(3, len(offered[:12]))):
            travel = timedelta(minutes=s.travel_buffer_minutes if slot.setting == "home" else 0)
            rows.append(
                {
                    "therapist_id": therapist_id,
                    "client_id": client_id,
                    "status": "confirmed",
                    "setting": slot.setting,
                    "start_at": slot.start,
                    "end_at": slot.end,
                    "blocked_start_at": slot.start - travel,
                    "blocked_end_at": slot.end + timedelta(minutes=s.buffer_minutes) + travel,
                    "time_zone": s.time_zone,
                }
            )
    # Slots were picked independently per therapist and never overlap within one.
    if rows:
        db.session.execute(insert(db.metadata.tables[Booking.__tablename__]), rows)
    db.session.commit()
    return len(rows)


def run(label: str, url: str, therapists: int, repeats: int, *, onto: bool = False) -> None:
    now = utcnow() if onto else NOW
    with tempfile.TemporaryDirectory() as folder:
        started = clock.perf_counter()
        app = build_app(url, Path(folder))
        with app.app_context():
            if not onto:  # seed_scale.py stored every therapist's openings at its own now
                seed_demo(therapists=therapists, clients=1, seed=1)
            all_ids = db.session.scalars(select(TherapistProfile.id)).all()
            ids = random.Random(7).sample(list(all_ids), min(CANDIDATES, len(all_ids)))
            if onto:
                therapists = len(all_ids)
                booked = db.session.scalar(select(func.count()).select_from(Booking)) or 0
            else:
                booked = book_some(ids, random.Random(11))
                # Rows as the commit hooks and the refresh job keep them, as of the bench's
                # NOW (the bulk inserts above bypass the services, and the seed stored them
                # at the real clock's now).
                write_openings(all_ids, now=NOW)
                db.session.commit()
            seeded = clock.perf_counter() - started

            found: dict[str, int] = {}

            def openings(setting: str | None) -> Callable[[], object]:
                def action() -> None:
                    result = next_openings(therapist_ids=ids, setting=setting, now=now)
                    found[str(setting)] = sum(1 for v in result.values() if v is not None)

                return action

            client = app.test_client()
            assert client.get("/healthz").status_code == 200
            health = median_seconds(lambda: client.get("/healthz"), max(repeats, 21))
            from datetime import timedelta

            from teletherapy.services.bookings.queries import list_slots

            busiest = ids[0]
            slot_count: dict[str, int] = {}

            def sixty_days() -> None:
                slots = list_slots(
                    therapist_id=busiest,
                    from_date=now.date(),
                    to_date=now.date() + timedelta(days=59),
                    setting=None,
                    now=now,
                    is_new_client=True,
                )
                slot_count["n"] = len(slots)

            sixty = median_seconds(sixty_days, repeats)
            online = median_seconds(openings("online"), repeats)
            anywhere = median_seconds(openings(None), repeats)
            db.session.remove()
            db.engine.dispose()

    print(
        f"{label}: {therapists:,} therapists, {booked:,} sessions"
        + (" (seed_scale.py's)" if onto else f" booked ({seeded:.1f} s)")
    )
    print(f"  median of {repeats} runs (time.perf_counter)")
    print(f"  GET /healthz (test client)             {health * 1e3:8.2f} ms     1.0x")
    print(
        f"  slots of one therapist over 60 days    {sixty * 1e3:8.2f} ms  "
        f"{sixty / health:6.1f}x   ({slot_count['n']} slots)"
    )
    for name, value, setting in (("online", online, "online"), ("any setting", anywhere, "None")):
        print(
            f"  next_openings x {len(ids):,}, {name:<11}    {value * 1e3:8.2f} ms  "
            f"{value / health:6.1f}x   ({found[setting]} with an opening, "
            f"{value / len(ids) * 1e6:.0f} us each)"
        )


def fresh_postgres(url: str) -> str:
    from teletherapy.settings import normalise_database_url

    url = normalise_database_url(url)
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--therapists", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--only", choices=["sqlite", "postgresql"], help="one database only")
    parser.add_argument("--onto", help="a database seed_scale.py filled: read it, add nothing")
    args = parser.parse_args()
    logging.disable(logging.INFO)  # migrations' progress lines
    if args.onto:
        from teletherapy.settings import normalise_database_url

        run("PostgreSQL", normalise_database_url(args.onto), 0, args.repeats, onto=True)
        return
    if args.only != "postgresql":
        with tempfile.TemporaryDirectory() as folder:
            run("SQLite", f"sqlite:///{folder}/bench.sqlite3", args.therapists, args.repeats)
    if args.only == "sqlite":
        return
    pg = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL")
    if pg:
        run("PostgreSQL", fresh_postgres(pg), args.therapists, args.repeats)
    else:
        print("PostgreSQL: skipped (set BENCH_DATABASE_URL or TEST_DATABASE_URL)")


if __name__ == "__main__":
    main()
