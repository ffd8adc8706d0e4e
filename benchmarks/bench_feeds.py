"""Calendar feed benchmark (a script, not a test): `python benchmarks/bench_feeds.py`.

One therapist with 2,000 sessions in the feed window (the last 30 days and the months
ahead), fetched through the Flask test client on a migrated SQLite file (or
BENCH_DATABASE_URL). Prints the median of several runs for
  * GET /feeds/<token>.ics, a full build (no event text kept yet);
  * the same GET right after one session changed (its SEQUENCE rose): the other events'
    texts are reused;
  * the same GET again, unchanged, served from the per-process cache of built feeds;
  * the same GET with If-None-Match, answered 304 from one aggregate query;
each as a ratio to GET /healthz measured in the same run.
A PostgreSQL BENCH_DATABASE_URL is a scratch database: its public schema is DROPPED.
`--onto URL` runs the same on a database `seed_scale.py` has filled (100,000 therapists,
1,000,000 sessions): nothing is dropped; the bench's therapist and clients are added
under addresses of their own, and only their event texts are cleared between runs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from unittest.mock import patch

from flask_migrate import upgrade
from sqlalchemy import delete, func, select

from teletherapy import create_app
from teletherapy.clock import utcnow
from teletherapy.extensions import db
from teletherapy.models import Booking, BookingFeedText, TherapistProfile
from teletherapy.services.accounts import users
from teletherapy.services.accounts.users import create_user
from teletherapy.services.calendars.feeds import clear_feed_cache, get_or_create_feed

SESSIONS = 2000
CLIENTS = 50
REPEATS = int(os.environ.get("BENCH_REPEATS", "9"))  # runs per figure (median)


CPU: dict[str, float] = {}  # the benchmark process's own CPU per request (median)


def median_seconds(action: Callable[[], object], repeats: int = REPEATS, name: str = "") -> float:
    return timed_after(lambda: None, action, repeats, name)


def timed_after(
    prepare: Callable[[], object],
    action: Callable[[], object],
    repeats: int = REPEATS,
    name: str = "",
) -> float:
    """Median wall time of `action` alone, each run after an untimed `prepare`; the
    median CPU time of this process (app side, not PostgreSQL's) is kept in CPU[name]."""
    timings, cpu = [], []
    for _ in range(repeats):
        prepare()
        started, started_cpu = time.perf_counter(), time.process_time()
        action()
        timings.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    CPU[name] = statistics.median(cpu)
    return statistics.median(timings)


def seed(tag: str = "") -> tuple[str, int]:
    """The feed's path and its therapist's profile id; `tag` makes the addresses new in a
    database that already has a run's."""
    # Every account shares one password hash: argon2 costs ~0.1 s each, and is not measured.
    with patch.object(users, "hash_password", lru_cache(users.hash_password)):
        therapist = create_user(
            email=f"bench-therapist{tag}@example.org", password="x" * 12, role="therapist"
        )
        clients = [
            create_user(
                email=f"bench-client{i}{tag}@example.org", password="x" * 12, display_name=f"C{i}"
            )
            for i in range(CLIENTS)
        ]
    assert therapist.therapist is not None
    first = (utcnow() - timedelta(days=29)).replace(minute=0, second=0, microsecond=0)
    for i in range(SESSIONS):
        start = first + timedelta(hours=2 * i)
        db.session.add(
            Booking(
                therapist_id=therapist.therapist.id,
                client_id=clients[i % CLIENTS].id,
                status="confirmed",
                setting=("online", "in_office", "home")[i % 3],
                start_at=start,
                end_at=start + timedelta(minutes=50),
                blocked_start_at=start,
                blocked_end_at=start + timedelta(minutes=60),
                time_zone="America/New_York",
            )
        )
    db.session.commit()
    url = get_or_create_feed(user_id=therapist.id, now=utcnow()).url
    assert url is not None
    return url.split("://", 1)[1].split("/", 1)[1], therapist.therapist.id


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--onto", help="a database seed_scale.py filled: add to it")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-feeds-"))
    url = (
        args.onto or os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{folder / 'bench.sqlite3'}"
    )
    if url.startswith("postgres") and not args.onto:  # a scratch database: emptied
        from sqlalchemy import create_engine, text

        from teletherapy.settings import normalise_database_url

        url = normalise_database_url(url)
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    app = create_app(
        {"TESTING": True, "SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": url},
        instance_path=folder,
    )
    with app.app_context():
        upgrade()
        feed_path, therapist_id = seed(f".{int(time.time())}" if args.onto else "")
        path = "/" + feed_path
        if url.startswith("postgres"):  # as autovacuum would have: plans from real counts
            db.session.commit()
            with db.engine.connect() as conn:
                conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
        mine = select(Booking.id).where(Booking.therapist_id == therapist_id)
        client = app.test_client()
        full = client.get(path)
        assert full.status_code == 200, full.status
        assert full.data.count(b"BEGIN:VEVENT") == SESSIONS
        etag = full.headers["ETag"]
        assert client.get(path, headers={"If-None-Match": etag}).status_code == 304

        healthz = median_seconds(lambda: client.get("/healthz"), name="healthz")

        def cold() -> None:
            db.session.execute(delete(BookingFeedText).where(BookingFeedText.booking_id.in_(mine)))
            db.session.commit()
            clear_feed_cache()

        def one_change() -> None:
            # A reschedule or cancellation: SEQUENCE rises on one session of the feed
            # (through the ORM, as the services do, so the feed's stamp moves too).
            booking = db.session.get(Booking, first_id)
            assert booking is not None
            booking.ics_sequence += 1
            db.session.commit()

        first_id = db.session.scalar(
            select(func.min(Booking.id)).where(Booking.therapist_id == therapist_id)
        )
        build = timed_after(cold, lambda: client.get(path), name="build")
        changed = timed_after(one_change, lambda: client.get(path), name="changed")
        latest = client.get(path)
        assert latest.data.count(b"BEGIN:VEVENT") == SESSIONS
        etag = latest.headers["ETag"]
        assert client.get(path, headers={"If-None-Match": etag}).status_code == 304
        cached = median_seconds(lambda: client.get(path), name="cached")
        not_modified = median_seconds(
            lambda: client.get(path, headers={"If-None-Match": etag}), name="304"
        )
        size = (
            db.session.scalar(select(func.count()).select_from(TherapistProfile)),
            db.session.scalar(select(func.count()).select_from(Booking)),
        )

    print(
        f"feed of {SESSIONS} sessions ({len(full.data) / 1024:.0f} KiB) on {url.split(':')[0]}"
        + (f", added to a database of {size[0]:,} therapists and {size[1]:,} sessions"
           if args.onto else "")
    )  # fmt: skip
    print(f"  GET /healthz                 {healthz * 1000:8.2f} ms   1.0x")
    print(f"  feed, full build (no kept    {build * 1000:8.2f} ms {build / healthz:6.1f}x healthz")
    print("        event texts)")
    print(
        f"  feed, after one change       {changed * 1000:8.2f} ms {changed / healthz:6.1f}x healthz"
    )
    print(
        f"  feed, unconditional, cached  {cached * 1000:8.2f} ms {cached / healthz:6.1f}x healthz"
    )
    print(
        f"  feed, If-None-Match -> 304   {not_modified * 1000:8.2f} ms "
        f"{not_modified / healthz:6.1f}x healthz"
    )
    print(
        "  app-side CPU per request (median): "
        + ", ".join(f"{k} {v * 1000:.2f} ms" for k, v in CPU.items())
    )
    if not_modified >= build:
        print("the 304 path should be cheaper than a full build", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
