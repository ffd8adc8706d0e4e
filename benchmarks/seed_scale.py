"""Bulk seed for benchmarks at national scale (a script, not a test).

    python benchmarks/seed_scale.py --database-url postgresql://... \
        --therapists 100000 --sessions 1000000 [--migrate]

`seed(database_url, therapists, sessions)` loads a *migrated* PostgreSQL database with
COPY (psycopg 3 `cursor.copy`): therapists as the demo seed makes them (the same profile
generator: licences, online states, languages, modalities, concerns, cultures, age
groups, fee bands with prices, office and home-visit locations, reduced-fee caps), plus
availability settings in their zone, weekly availability rules, payment settings;
clients with profiles; and sessions. Then each therapist's `therapist_openings` row is
written by the app's own code (the slot engine, as the commit hook and the refresh job
do), and the database is vacuumed and analysed.

Accounts: `therapist<i>@scale.test` and `client<i>@scale.test` (i from 1), password
`demo-pass-123`. The seed appends: ids continue after those already in the database,
and it refuses to run twice on one database (the e-mail addresses would clash).

Sessions obey the invariants the database enforces and the ones it cannot:
  * each client has one therapist and one weekly series at one weekday and hour inside
    the therapist's morning (online) hours; a therapist's series use distinct
    (weekday, hour) lanes, or the same lane in disjoint runs of weeks, so no two of a
    therapist's sessions overlap (buffers included: 50 minutes + 10 of buffer on the hour),
    whatever their status, and no client has two sessions at once;
  * past sessions are completed (a few cancelled by the client), future ones confirmed
    (a few cancelled), all within the therapist's 60-day horizon, at the therapist's
    price for a band they accept, recorded on the session.
"""

from __future__ import annotations

import argparse
import random
import sys
import time as clock
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "platform"))

from teletherapy.demo.matching import _profile  # noqa: E402
from teletherapy.demo.seed import DEMO_PASSWORD, demo_clients, demo_therapists  # noqa: E402
from teletherapy.domain.availability import AvailabilitySettings, WeeklyRule  # noqa: E402
from teletherapy.domain.fees import FeeBand  # noqa: E402
from teletherapy.domain.slots import BookedSession, Schedule  # noqa: E402
from teletherapy.services.availability.openings import compute_row  # noqa: E402

SESSION_MINUTES = 50
BUFFER_MINUTES = 10
FUTURE_WEEKS = 8  # inside the default 60-day horizon
LANES = 20  # (weekday, hour) pairs in the morning hours: Mon-Fri x 09:00-12:00
MORNING_START = 9
AFTERNOON = ((14, 18), (13, 17), (15, 19))

PROFILE_COLUMNS = (
    "id", "user_id", "display_name", "bio", "license_type", "license_number", "license_state",
    "npi", "verified_at", "accepting_new_clients", "created_at", "gender", "faith_integrated",
    "lgbtq_affirming", "offers_individual", "offers_group", "office_zip", "office_lat",
    "office_lon", "home_zip", "home_lat", "home_lon", "home_radius_km",
    "reduced_fee_weekly_cap",
)  # fmt: skip
USER_COLUMNS = (
    "id", "email", "password_hash", "role", "status", "display_name", "time_zone", "language",
    "state", "zip", "created_at",
)  # fmt: skip
OPENING_COLUMNS = (
    "therapist_id", "online_at", "in_office_at", "home_at", "any_at", "computed_at",
    "valid_until",
)  # fmt: skip
LICENSE_TYPES = ["LCSW", "LMHC", "LPC", "LMFT", "PsyD", "PhD", "LCPC", "LPCC"]


def _plain_url(url: str) -> str:
    """psycopg wants postgresql://; SQLAlchemy URLs may name the driver."""
    for prefix in ("postgresql+psycopg://", "postgresql+psycopg2://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql://" + url[len(prefix) :]
    return url


def _sqlalchemy_url(url: str) -> str:
    return "postgresql+psycopg://" + _plain_url(url)[len("postgresql://") :]


def _copy(cur: psycopg.Cursor[Any], table: str, columns: Sequence[str], rows: Iterable[Any]) -> int:
    """COPY the rows in; into an empty table, with its indexes and constraints made after."""
    count = 0
    with (
        _IndexesLater(cur, table),
        cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


class _ListingsLater:
    """The online listings (0019_online_listings) of the therapists being loaded, written
    once when their profiles, tags and fees are all in, instead of by the tables' triggers
    at each COPY (which refreshed every new therapist three times: 100,000 therapists took
    ~55 s more). The triggers are disabled in this transaction only: a failed load rolls
    the change back with the rows."""

    TRIGGERS = (
        ("therapist_profiles", "online_listings_profile_added"),
        ("therapist_profiles", "online_listings_profile_changed"),
        ("therapist_fees", "online_listings_fees_added"),
        ("therapist_fees", "online_listings_fees_removed"),
        ("therapist_fees", "online_listings_fees_changed"),
    )

    def __init__(self, cur: psycopg.Cursor[Any], first_profile: int) -> None:
        self.cur, self.first_profile = cur, first_profile
        cur.execute("SELECT to_regprocedure('refresh_online_listings(integer[])') IS NOT NULL")
        row = cur.fetchone()
        self.kept = bool(row and row[0])  # a database migrated before 0019 has none

    def __enter__(self) -> _ListingsLater:
        for table, name in self.TRIGGERS if self.kept else ():
            self.cur.execute(f"ALTER TABLE {table} DISABLE TRIGGER {name}")
        return self

    def __exit__(self, kind: Any, *_: Any) -> None:
        if not self.kept or kind is not None:
            return
        for table, name in self.TRIGGERS:
            self.cur.execute(f"ALTER TABLE {table} ENABLE TRIGGER {name}")
        self.cur.execute(
            "SELECT refresh_online_listings(ARRAY(SELECT id FROM therapist_profiles"
            " WHERE id >= %s))",
            (self.first_profile,),
        )


class _IndexesLater:
    """Secondary indexes, foreign keys and exclusion constraints of a table dropped for a
    bulk load into an empty table and made again afterwards: one sorted index build and
    one join per foreign key beat a million single-row inserts and checks, and adding a
    constraint checks every row, so the invariants still hold for what was loaded."""

    def __init__(self, cur: psycopg.Cursor[Any], table: str) -> None:
        self.cur, self.table = cur, table
        self.indexes: list[tuple[str, str]] = []
        self.constraints: list[tuple[str, str]] = []

    def __enter__(self) -> _IndexesLater:
        cur, table = self.cur, self.table
        cur.execute(f"SELECT EXISTS (SELECT 1 FROM {table})")
        row = cur.fetchone()
        if row is None or row[0]:
            return self  # not empty: load with the indexes in place
        cur.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE conrelid = %s::regclass AND contype IN ('x', 'f')",
            (table,),
        )
        self.constraints = [(name, definition) for name, definition in cur.fetchall()]
        cur.execute(
            "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x"
            " JOIN pg_class i ON i.oid = x.indexrelid"
            " WHERE x.indrelid = %s::regclass AND NOT x.indisprimary AND NOT x.indisunique"
            " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.oid)",
            (table,),
        )
        self.indexes = [(name, definition) for name, definition in cur.fetchall()]
        for name, _ in self.constraints:
            cur.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        for name, _ in self.indexes:
            cur.execute(f'DROP INDEX "{name}"')
        return self

    def __exit__(self, *exc: object) -> None:
        if exc[0] is not None:
            return
        self.cur.execute("SET maintenance_work_mem = '256MB'")
        for _, definition in self.indexes:
            self.cur.execute(definition)
        for name, definition in self.constraints:
            self.cur.execute(f'ALTER TABLE {self.table} ADD CONSTRAINT "{name}" {definition}')


def _next_id(cur: psycopg.Cursor[Any], table: str) -> int:
    cur.execute(f"SELECT coalesce(max(id), 0) + 1 FROM {table}")
    row = cur.fetchone()
    assert row is not None
    return int(row[0])


def _bands(cur: psycopg.Cursor[Any]) -> list[FeeBand]:
    cur.execute(
        "SELECT code, label, min_cents, max_cents, max_fpl_percent FROM fee_bands"
        " ORDER BY sort_order, code"
    )
    return [
        FeeBand(code=c, label=lbl, min_cents=lo, max_cents=hi, max_fpl_percent=fpl)
        for c, lbl, lo, hi, fpl in cur.fetchall()
    ]


def _roll(booking_id: int) -> int:
    """0..99 from a session's id: decides cancellations (the same formula as SESSIONS_SQL)."""
    return (booking_id * 2654435761) % 100


# One row per session of each series: weekly at the series' weekday and hour, local time
# in the therapist's zone; past ones completed (4 % cancelled by the client two days
# before), future ones confirmed (3 % cancelled), the blocked time taking the buffer.
SESSIONS_SQL = """
INSERT INTO bookings (id, therapist_id, client_id, status, setting, start_at, end_at,
    blocked_start_at, blocked_end_at, time_zone, fee_cents, currency, fee_band,
    is_late_cancellation, cancelled_at, cancelled_by, ics_sequence, created_at, updated_at)
SELECT b.id, s.therapist_id, s.client_id,
    CASE WHEN t.start_at < %(now)s THEN CASE WHEN r.roll < 4 THEN 'cancelled' ELSE 'completed' END
         ELSE CASE WHEN r.roll < 3 THEN 'cancelled' ELSE 'confirmed' END END,
    'online', t.start_at, t.start_at + interval '50 minutes', t.start_at,
    t.start_at + interval '60 minutes', s.time_zone, s.fee_cents, 'usd', s.fee_band, false,
    c.cancelled_at, CASE WHEN c.cancelled_at IS NULL THEN NULL ELSE 'client' END,
    CASE WHEN c.cancelled_at IS NULL THEN 0 ELSE 1 END,
    k.created_at, coalesce(c.cancelled_at, k.created_at)
FROM scale_series s
CROSS JOIN LATERAL generate_series(s.first_week, s.first_week + s.count - 1) AS w(week)
CROSS JOIN LATERAL (SELECT s.first_id + w.week - s.first_week AS id) b
CROSS JOIN LATERAL (SELECT (b.id * 2654435761) %% 100 AS roll) r
CROSS JOIN LATERAL (
    SELECT ((%(monday)s::date + 7 * w.week + s.weekday) + make_time(s.hour, 0, 0))
        AT TIME ZONE s.time_zone AS start_at
) t
CROSS JOIN LATERAL (
    SELECT CASE
        WHEN t.start_at < %(now)s AND r.roll < 4 THEN t.start_at - interval '2 days'
        WHEN t.start_at >= %(now)s AND r.roll < 3 THEN %(now)s - make_interval(hours => r.roll::int)
    END AS cancelled_at
) c
CROSS JOIN LATERAL (
    SELECT least(%(now)s, t.start_at) - make_interval(days => (14 + r.roll %% 30)::int)
        AS created_at
) k
"""


@lru_cache(maxsize=200_000)
def _utc(zone: str, day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=ZoneInfo(zone)).astimezone(UTC)


def seed(
    database_url: str,
    therapists: int,
    sessions: int,
    *,
    seed_value: int = 14,
    openings: bool = True,
    now: datetime | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Bulk-load `therapists` therapists, their clients and `sessions` sessions.

    Returns the counts and the seconds each step took. The database must be migrated.
    """
    now = now or datetime.now(UTC)
    say = progress or (lambda _message: None)
    timings: dict[str, float] = {}
    started = step = clock.perf_counter()

    def lap(name: str) -> None:
        nonlocal step
        timings[name] = round(clock.perf_counter() - step, 2)
        say(f"  {name}: {timings[name]:.1f} s")
        step = clock.perf_counter()

    from teletherapy.services.accounts.users import hash_password

    password_hash = hash_password(DEMO_PASSWORD)
    rng = random.Random(f"scale-{seed_value}")
    with psycopg.connect(_plain_url(database_url)) as conn, conn.cursor() as cur:
        cur.execute("SET synchronous_commit = off")
        # A bulk load is not a web request: the database's statement_timeout (the topology
        # sets one for the web nodes) does not apply to it.
        cur.execute("SET statement_timeout = 0")
        cur.execute("SELECT 1 FROM users WHERE email = 'therapist1@scale.test'")
        if cur.fetchone():
            raise RuntimeError("this database already holds a scale seed")
        bands = _bands(cur)
        first_user, first_profile = _next_id(cur, "users"), _next_id(cur, "therapist_profiles")
        first_client_profile, first_booking = (
            _next_id(cur, "client_profiles"),
            _next_id(cur, "bookings"),
        )

        # --- therapists ---------------------------------------------------------------
        users: list[tuple[Any, ...]] = []
        profiles: list[tuple[Any, ...]] = []
        tags: list[tuple[Any, ...]] = []
        fees: list[tuple[Any, ...]] = []
        settings: list[tuple[Any, ...]] = []
        payments: list[tuple[Any, ...]] = []
        rules: list[tuple[Any, ...]] = []
        # What sessions need of each therapist: id, zone, accepted bands with prices.
        practice: list[tuple[int, str, list[tuple[str, int]]]] = []
        weekly: dict[int, tuple[bool, list[WeeklyRule]]] = {}
        for t in demo_therapists(therapists, seed_value):
            uid, pid = first_user + t.index - 1, first_profile + t.index - 1
            values, tag_rows, fee_rows = _profile(t, pid, bands)
            users.append(
                (uid, f"therapist{t.index}@scale.test", password_hash, "therapist", "active",
                 t.name, t.time_zone, "en", t.state, t.zip, now)
            )  # fmt: skip
            verified = t.index <= 5 or rng.random() >= 0.03
            accepting = t.index <= 5 or rng.random() >= 0.12
            profiles.append(
                (pid, uid, t.name, f"{t.name.split()[0]} is a licensed therapist in {t.state}.",
                 LICENSE_TYPES[t.rng_seed % len(LICENSE_TYPES)], f"{t.state}-{100000 + t.index}",
                 t.state, f"{1000000000 + t.index}"[:10], now if verified else None, accepting,
                 now, values["gender"], values["faith_integrated"], values["lgbtq_affirming"],
                 True, values["offers_group"], values["office_zip"], values["office_lat"],
                 values["office_lon"], values["home_zip"], values["home_lat"], values["home_lon"],
                 values["home_radius_km"], values["reduced_fee_weekly_cap"])
            )  # fmt: skip
            tags.extend((r["therapist_id"], r["kind"], r["code"]) for r in tag_rows)
            fees.extend((r["therapist_id"], r["band_code"], r["fee_cents"]) for r in fee_rows)
            settings.append(
                (pid, t.time_zone, SESSION_MINUTES, BUFFER_MINUTES, 30, 24, 60, 24, now)
            )
            payments.append(
                (
                    pid,
                    True,
                    t.index % 2 == 1,
                    True,
                    (0, 2000, 2500, 4000)[t.rng_seed % 4],
                    True,
                    now,
                )
            )
            # Mornings online on weekdays (the sessions' lanes); afternoons in a setting
            # the therapist offers, on some weekdays; a few work Saturday mornings.
            places = [
                s
                for s, offered in (
                    ("in_office", values["office_lat"] is not None),
                    ("home", values["home_lat"] is not None),
                    ("online", True),
                )
                if offered
            ]
            start, end = AFTERNOON[t.rng_seed % len(AFTERNOON)]
            for weekday in range(5):
                rules.append((pid, weekday, f"{MORNING_START:02d}:00", "13:00", "online"))
                if (t.rng_seed >> weekday) & 3:  # about three afternoons in four
                    setting = places[(t.rng_seed + weekday) % len(places)]
                    rules.append((pid, weekday, f"{start:02d}:00", f"{end:02d}:00", setting))
            if t.rng_seed % 5 == 0:
                rules.append((pid, 5, "10:00", "14:00", "online"))
            weekly[pid] = (
                accepting,
                [WeeklyRule(r[1], time.fromisoformat(r[2]), time.fromisoformat(r[3]), r[4])
                 for r in rules[-12:] if r[0] == pid],
            )  # fmt: skip
            practice.append(
                (pid, t.time_zone, [(r["band_code"], r["fee_cents"]) for r in fee_rows])
            )
        lap(f"therapists generated ({therapists:,})")
        _copy(cur, "users", USER_COLUMNS, users)
        with _ListingsLater(cur, first_profile):
            _copy(cur, "therapist_profiles", PROFILE_COLUMNS, profiles)
            _copy(cur, "therapist_tags", ("therapist_id", "kind", "code"), tags)
            _copy(cur, "therapist_fees", ("therapist_id", "band_code", "fee_cents"), fees)
        _copy(
            cur,
            "availability_settings",
            ("therapist_id", "time_zone", "session_minutes", "buffer_minutes",
             "travel_buffer_minutes", "min_notice_hours", "horizon_days",
             "cancellation_window_hours", "updated_at"),
            settings,
        )  # fmt: skip
        _copy(
            cur,
            "therapist_payment_settings",
            ("therapist_id", "accepts_pay_now", "accepts_card_on_file", "accepts_pay_at_session",
             "late_cancel_fee_cents", "waive_first_late_cancel", "updated_at"),
            payments,
        )  # fmt: skip
        _copy(
            cur,
            "availability_rules",
            ("therapist_id", "weekday", "start_time", "end_time", "setting"),
            rules,
        )
        del users, profiles, tags, fees, settings, payments, rules
        lap(f"therapists copied ({therapists:,})")

        # --- series of sessions: one client each ---------------------------------------
        # Split the sessions among therapists (uneven caseloads), then each therapist's
        # into weekly series of 4-16 sessions, each ending between two weeks ago and
        # the end of the horizon.
        weights = [rng.paretovariate(2.5) for _ in practice]
        total = sum(weights)
        shares = [int(sessions * w / total) for w in weights]
        for i in range(sessions - sum(shares)):
            shares[i % len(shares)] += 1
        today = now.date()
        monday = today - timedelta(days=today.weekday())
        series: list[tuple[int, int, int, int]] = []  # therapist index, lane, first week, count
        for index, share in enumerate(shares):
            lane_end: dict[int, int] = {}
            left = share
            lane = 0
            while left > 0:
                length = min(left, rng.randint(4, 16))
                # The lane's next run ends where the previous run of that lane began.
                end = lane_end.get(lane, rng.randint(-2, FUTURE_WEEKS - 1))
                series.append((index, lane, end - length + 1, length))
                lane_end[lane] = end - length
                left -= length
                lane = (lane + 1) % LANES
        lap(f"series planned ({len(series):,})")

        client_users: list[tuple[Any, ...]] = []
        client_profiles: list[tuple[Any, ...]] = []
        people = demo_clients(len(series), seed_value)
        first_client_user = first_user + therapists
        for n, c in enumerate(people):
            uid = first_client_user + n
            client_users.append(
                (uid, f"client{c.index}@scale.test", password_hash, "client", "active", c.name,
                 c.time_zone, "en", c.state, c.zip, now)
            )  # fmt: skip
            client_profiles.append((first_client_profile + n, uid, now))
        _copy(cur, "users", USER_COLUMNS, client_users)
        band_of_client: dict[int, str] = {}
        lap(f"clients generated and copied ({len(client_users):,})")
        del client_users

        # The sessions are made by the database from one row per series (COPY), so a
        # million rows never pass through Python; ids are fixed here (first_id), so the
        # status each gets (from its id, as below) is known without reading them back.
        upcoming: dict[int, list[BookedSession]] = {}
        band_of_client: dict[int, str] = {}
        plan: list[tuple[Any, ...]] = []
        booking_id = first_booking
        length = timedelta(minutes=SESSION_MINUTES)
        for n, (index, lane, first_week, count) in enumerate(series):
            pid, zone, prices = practice[index]
            client = first_client_user + n
            if not prices:
                continue
            band, fee = prices[(client * 7) % len(prices)]
            band_of_client[client] = band
            weekday, hour = lane % 5, MORNING_START + lane // 5
            plan.append(
                (pid, client, zone, weekday, hour, first_week, count, fee, band, booking_id)
            )
            for week in range(max(first_week, -1), first_week + count):
                start = _utc(zone, monday + timedelta(days=7 * week + weekday), hour)
                if start >= now and _roll(booking_id + week - first_week) >= 3:
                    upcoming.setdefault(pid, []).append(
                        BookedSession(start, start + length, "online")
                    )
            booking_id += count
        cur.execute(
            "CREATE TEMPORARY TABLE scale_series (therapist_id int, client_id int,"
            " time_zone text, weekday int, hour int, first_week int, count int,"
            " fee_cents int, fee_band text, first_id bigint) ON COMMIT DROP"
        )
        _copy(
            cur,
            "scale_series",
            ("therapist_id", "client_id", "time_zone", "weekday", "hour", "first_week",
             "count", "fee_cents", "fee_band", "first_id"),
            plan,
        )  # fmt: skip
        with _IndexesLater(cur, "bookings"):
            cur.execute(SESSIONS_SQL, {"monday": monday, "now": now})
            made = cur.rowcount
        lap(f"sessions made, indexes and constraints built ({made:,})")
        _copy(
            cur,
            "client_profiles",
            ("id", "user_id", "created_at", "fee_band"),
            ((pid, uid, created, band_of_client.get(uid)) for pid, uid, created in client_profiles),
        )
        for table in ("users", "therapist_profiles", "client_profiles", "bookings",
                      "availability_rules"):  # fmt: skip
            cur.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                f" (SELECT coalesce(max(id), 1) FROM {table}))"
            )
        conn.commit()
        lap("client profiles, sequences, commit")

        if openings:
            rows = []
            for pid, zone, _prices in practice:
                accepting, rules_of = weekly[pid]
                schedule = Schedule(
                    settings=AvailabilitySettings(
                        time_zone=zone,
                        session_minutes=SESSION_MINUTES,
                        buffer_minutes=BUFFER_MINUTES,
                        accepting_new_clients=accepting,
                    ),
                    rules=rules_of,
                    booked=sorted(upcoming.get(pid, ()), key=lambda b: b.start),
                )
                row = compute_row(pid, schedule, now, ())
                rows.append(tuple(row[c] for c in OPENING_COLUMNS))
            lap("therapist_openings computed (slot engine)")
            _copy(cur, "therapist_openings", OPENING_COLUMNS, rows)
            conn.commit()
            lap("therapist_openings copied")
    # As autovacuum would leave a running database: statistics for the planner, and the
    # visibility map set so that index-only scans need not visit the heap.
    with psycopg.connect(_plain_url(database_url), autocommit=True) as conn:
        conn.execute("SET statement_timeout = 0")
        conn.execute("VACUUM (ANALYZE)")
    lap("VACUUM (ANALYZE)")
    timings["total"] = round(clock.perf_counter() - started, 2)
    return {
        "therapists": therapists,
        "clients": len(series),
        "sessions": made,
        "first_therapist_id": first_profile,
        "seconds": timings,
    }


def check_openings(database_url: str, therapist_ids: Sequence[int]) -> list[int]:
    """Therapists whose stored openings differ from the app's own computation (the
    schedule loaded from the database, as the commit hook does) at the seed's
    `computed_at`; empty when the seed wrote what the app would have."""
    import tempfile

    from sqlalchemy import select

    from teletherapy import create_app
    from teletherapy.extensions import db
    from teletherapy.models import TherapistOpening
    from teletherapy.services.availability.schedules import load_schedules

    wrong: list[int] = []
    with tempfile.TemporaryDirectory() as instance:
        app = create_app(
            {"SQLALCHEMY_DATABASE_URI": _sqlalchemy_url(database_url), "SECRET_KEY": "seed"},
            instance_path=instance,
        )
        with app.app_context():
            stored = {
                row.therapist_id: row
                for row in db.session.scalars(
                    select(TherapistOpening).where(TherapistOpening.therapist_id.in_(therapist_ids))
                )
            }
            for tid in therapist_ids:
                row = stored.get(tid)
                if row is None:
                    wrong.append(tid)
                    continue
                schedules = load_schedules([tid], now=row.computed_at)
                expected = compute_row(tid, schedules[tid], row.computed_at, ())
                if any(expected[c] != getattr(row, c) for c in OPENING_COLUMNS):
                    wrong.append(tid)
            db.session.remove()
            db.engine.dispose()
    return wrong


def migrate(database_url: str) -> None:
    import tempfile

    from flask_migrate import upgrade

    from teletherapy import create_app

    with tempfile.TemporaryDirectory() as instance:
        app = create_app(
            {"SQLALCHEMY_DATABASE_URI": _sqlalchemy_url(database_url), "SECRET_KEY": "seed"},
            instance_path=instance,
        )
        with app.app_context():
            upgrade()
            from teletherapy.extensions import db

            db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--therapists", type=int, default=100_000)
    parser.add_argument("--sessions", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=14, help="random seed (deterministic)")
    parser.add_argument("--migrate", action="store_true", help="upgrade the database first")
    parser.add_argument("--no-openings", action="store_true", help="leave therapist_openings")
    parser.add_argument(
        "--check", type=int, default=0, help="compare N therapists' openings with the app's"
    )
    args = parser.parse_args()
    started = clock.perf_counter()
    if args.migrate:
        migrate(args.database_url)
    result = seed(
        args.database_url,
        args.therapists,
        args.sessions,
        seed_value=args.seed,
        openings=not args.no_openings,
        progress=print,
    )
    print(
        f"seeded {result['therapists']:,} therapists, {result['clients']:,} clients,"
        f" {result['sessions']:,} sessions in {clock.perf_counter() - started:.1f} s"
    )
    if args.check:
        first = result["first_therapist_id"]
        sample = random.Random(1).sample(range(first, first + args.therapists), args.check)
        wrong = check_openings(args.database_url, sorted(sample))
        print(f"openings checked against the app for {len(sample)} therapists: {len(wrong)} differ")


if __name__ == "__main__":
    main()
