"""Matching benchmark over HTTP (a script, not a test): `python benchmarks/bench_matching.py`.

For each database (SQLite always; PostgreSQL when BENCH_DATABASE_URL or TEST_DATABASE_URL
is set - its public schema is DROPPED and rebuilt) and each size (default 1,000 and
10,000 therapists; `--sizes 1000,10000,100000` for the big one):

  * migrate an empty database and seed demo data (`seed_demo`: every therapist gets
    tags, settings and fees), plus weekday availability rules so that "next opening"
    runs the real slot engine;
  * serve the app with werkzeug's `make_server` in a thread (one connection per request);
  * time POST /api/v1/matches for a rotation of realistic requests, and GET /healthz in
    the same run, and print p50 / p95 of each and their ratio;
  * also print the server thread's CPU time per request (time.thread_time in a WSGI
    wrapper): on a shared, loaded machine wall-clock percentiles mostly measure the
    neighbours, CPU time much less so.

From 50,000 therapists PostgreSQL is seeded by `seed_scale.py` (COPY: realistic
therapists, ten sessions per therapist, stored openings, VACUUM ANALYZE) instead of
seed_demo; `--seeded` benchmarks a database seed_scale.py has already filled.

The targets (issue 14): p95 <= 8x /healthz at 10,000 therapists; p95 <= 100 ms at 100,000.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import sys
import tempfile
import threading
import time as clock
from collections.abc import Callable, Iterator
from datetime import time
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, insert, select, text
from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "platform"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from teletherapy import create_app  # noqa: E402
from teletherapy.clock import utcnow  # noqa: E402
from teletherapy.extensions import db  # noqa: E402
from teletherapy.models import AvailabilityRule, TherapistProfile  # noqa: E402
from teletherapy.services.availability.openings import write_openings  # noqa: E402

REQUESTS: list[tuple[str, dict[str, Any]]] = [
    (
        "online NY, Spanish required, CBT (DESIGN.md)",
        {
            "setting": "online",
            "state": "NY",
            "zip": "10027",
            "languages": [{"code": "es", "required": True}],
            "modalities": ["cbt"],
            "concerns": ["anxiety"],
            "cultural_backgrounds": [{"code": "latin_american", "weight": 2}],
            "fee_band": "b",
            "max_distance_km": 25,
            "limit": 20,
        },
    ),
    (
        "online CA, income-based band, preferred times",
        {
            "setting": "online",
            "state": "CA",
            "zip": "90011",
            "languages": [{"code": "es", "weight": 2}],
            "concerns": ["depression", "trauma"],
            "household_income_cents": 3_500_000,
            "household_size": 3,
            "preferred_times": [{"weekday": 2, "start": "17:00", "end": "21:00"}],
        },
    ),
    (
        "in office near Harlem, 25 km",
        {
            "setting": "in_office",
            "state": "NY",
            "zip": "10027",
            "modalities": ["dbt", "cbt"],
            "fee_band": "c",
            "max_distance_km": 25,
        },
    ),
    (
        "home visit in Houston",
        {"setting": "home", "state": "TX", "zip": "77004", "fee_band": "d"},
    ),
]


# --seeded: BENCH_DATABASE_URL already holds the data (seed_scale.py); neither drop nor seed.
SEEDED = False
# Sizes from which PostgreSQL is seeded by seed_scale.py (COPY) instead of seed_demo.
SCALE_FROM = 50_000


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


def databases(tmp: Path) -> Iterator[tuple[str, Callable[[int], str]]]:
    def sqlite_url(size: int) -> str:
        path = tmp / f"bench-{size}.sqlite3"
        path.unlink(missing_ok=True)
        return f"sqlite:///{path}"

    yield "sqlite", sqlite_url
    url = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL")
    if url:
        from teletherapy.settings import normalise_database_url

        url = normalise_database_url(url)

        def pg_url(size: int) -> str:
            if SEEDED:
                return url
            engine = create_engine(url)
            with engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
            engine.dispose()
            return url

        yield "postgresql", pg_url


def add_availability(therapist_ids: list[int]) -> None:
    """Weekday hours in every setting, so that next openings are real searches."""
    rows = []
    for tid in therapist_ids:
        for weekday in range(5):
            rows.append(
                {
                    "therapist_id": tid,
                    "weekday": weekday,
                    "start_time": time(9),
                    "end_time": time(13),
                    "setting": "online",
                }
            )
            rows.append(
                {
                    "therapist_id": tid,
                    "weekday": weekday,
                    "start_time": time(14),
                    "end_time": time(18),
                    "setting": ("in_office", "home", "online")[(tid + weekday) % 3],
                }
            )
    for start in range(0, len(rows), 20_000):
        db.session.execute(insert(AvailabilityRule), rows[start : start + 20_000])
    db.session.commit()


def prepare(url: str, size: int, instance: Path, *, how: str = "demo") -> Any:
    """Migrate and seed; `how` is "demo" (seed_demo, as before), "scale" (seed_scale's
    COPY seed: PostgreSQL only) or "seeded" (the database already holds the data)."""
    from flask_migrate import upgrade

    from teletherapy.demo.seed import seed_demo

    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "RATELIMIT_ENABLED": False},
        instance_path=instance,
    )
    with app.app_context():
        upgrade()
        started = clock.perf_counter()
        if how != "demo":
            if how == "scale":
                from seed_scale import seed

                db.engine.dispose()
                seed(url, size, size * 10, progress=print)
                print(f"  seeded {size:,} therapists in {clock.perf_counter() - started:.1f} s")
            refresh_stale_openings()
            db.session.remove()
            return app
        seed_demo(therapists=size, clients=5, seed=1)
        add_availability(list(db.session.scalars(select(TherapistProfile.id))))
        # The rules above are bulk inserts that bypass the services' commit hooks: store
        # the next openings as those hooks (or the refresh job) would have.
        write_openings(list(db.session.scalars(select(TherapistProfile.id))), now=utcnow())
        # Planner statistics and (PostgreSQL) the visibility map, as a running database
        # has them (autovacuum, or a nightly ANALYZE on SQLite); fresh bulk loads have none.
        db.session.commit()
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM (ANALYZE)"))
        else:
            db.session.execute(text("ANALYZE"))
            db.session.commit()
        print(f"  seeded {size:,} therapists in {clock.perf_counter() - started:.1f} s")
        db.session.remove()
    return app


def refresh_stale_openings() -> None:
    """What the dispatcher's job keeps doing in a running system: rewrite the stored next
    openings that time has made due (a seed from an hour ago has rows past `valid_until`,
    and a search would ask the slot engine for those therapists instead)."""
    from teletherapy.services.availability.openings import refresh_due_openings

    refreshed = 0
    while written := refresh_due_openings(now=utcnow(), limit=50_000):
        refreshed += written
    print(f"  stored openings refreshed for {refreshed:,} therapists (the dispatcher's job)")


def timed(port: int, method: str, path: str, body: dict[str, Any] | None = None) -> float:
    payload = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"} if payload else {}
    started = clock.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request(method, path, body=payload, headers=headers)
    response = conn.getresponse()
    data = response.read()
    elapsed = clock.perf_counter() - started
    conn.close()
    if response.status != 200:
        raise RuntimeError(f"{method} {path} -> {response.status}: {data[:300]!r}")
    return elapsed


class CpuMeter:
    """WSGI wrapper: CPU seconds the serving thread spent on each request, by path."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.samples: dict[str, list[float]] = {}

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        started = clock.thread_time()
        try:
            return list(self.app(environ, start_response))
        finally:
            spent = clock.thread_time() - started
            self.samples.setdefault(environ["PATH_INFO"], []).append(spent)


def run(app: Any, rounds: int) -> None:
    meter = CpuMeter(app)
    server = make_server("127.0.0.1", 0, meter, threaded=False)
    port = server.server_port
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        for _, body in REQUESTS:  # warm caches (ZIP lookups, query plans)
            timed(port, "POST", "/api/v1/matches", body)
        health: list[float] = []
        matches: list[float] = []
        by_kind: dict[str, list[float]] = {name: [] for name, _ in REQUESTS}
        meter.samples.clear()
        for i in range(rounds):
            name, body = REQUESTS[i % len(REQUESTS)]
            elapsed = timed(port, "POST", "/api/v1/matches", body)
            matches.append(elapsed)
            by_kind[name].append(elapsed)
            health.append(timed(port, "GET", "/healthz"))
        hp50, hp95 = percentile(health, 0.5), percentile(health, 0.95)
        mp50, mp95 = percentile(matches, 0.5), percentile(matches, 0.95)
        print(f"  GET /healthz           p50 {hp50 * 1e3:7.2f} ms  p95 {hp95 * 1e3:7.2f} ms")
        print(
            f"  POST /api/v1/matches   p50 {mp50 * 1e3:7.2f} ms  p95 {mp95 * 1e3:7.2f} ms"
            f"   ({mp50 / hp50:.1f}x / {mp95 / hp95:.1f}x healthz)"
        )
        hc, mc = meter.samples["/healthz"], meter.samples["/api/v1/matches"]
        print(
            f"  server CPU: healthz p50 {percentile(hc, 0.5) * 1e3:.2f} ms"
            f" p95 {percentile(hc, 0.95) * 1e3:.2f} ms; matches p50"
            f" {percentile(mc, 0.5) * 1e3:.2f} ms p95 {percentile(mc, 0.95) * 1e3:.2f} ms"
        )
        for name, samples in by_kind.items():
            print(
                f"    {name:<48} p50 {statistics.median(samples) * 1e3:7.2f} ms"
                f"  p95 {percentile(samples, 0.95) * 1e3:7.2f} ms"
            )
    finally:
        server.shutdown()
        thread.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000", help="therapist counts, comma-separated")
    parser.add_argument("--rounds", type=int, default=200, help="requests per run")
    parser.add_argument("--only", choices=["sqlite", "postgresql"], help="one database only")
    parser.add_argument(
        "--seeded",
        action="store_true",
        help="PostgreSQL already holds a seed_scale.py seed of the (one) size: use it as is",
    )
    args = parser.parse_args()
    global SEEDED
    SEEDED = args.seeded
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        for name, make_url in databases(tmp):
            if args.only and name != args.only:
                continue
            for size in sizes:
                print(f"{name}, {size:,} therapists")
                how = "demo"
                if name == "postgresql":
                    how = "seeded" if SEEDED else "scale" if size >= SCALE_FROM else "demo"
                app = prepare(make_url(size), size, tmp / f"instance-{name}-{size}", how=how)
                run(app, args.rounds)
                with app.app_context():
                    db.engine.dispose()


if __name__ == "__main__":
    main()
