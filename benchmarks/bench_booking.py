"""Booking benchmark (a script, not a test): `python benchmarks/bench_booking.py`.

Creates a fresh PostgreSQL database (default `tt_bench_booking`), migrates it with
`flask db upgrade`, seeds therapists with availability and clients with API tokens,
starts `gunicorn -w 4` on loopback and fires 50 concurrent clients (threads), each
booking slots picked from a small shared pool so that many contend for the same
slot. Prints:
  * booking throughput and p50/p95 latency (201 and 409 answers both count);
  * GET /healthz p50/p95 under the same concurrency, in the same run, and the ratios;
  * the number of double bookings found in the database afterwards (must be 0).

`--onto URL` measures the same on a database `seed_scale.py` has filled (100,000
therapists and 1,000,000 sessions: "the table at that size"): nothing is dropped, the
bench's therapists and clients are added under names of their own, and the double
bookings are counted among their sessions.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import time as wall
from pathlib import Path
from typing import Any

import psycopg
import requests

ROOT = Path(__file__).resolve().parents[1]
# BENCH_VENV: another virtualenv (a worktree without its own .venv); the app is always
# imported from this checkout's platform/ (PYTHONPATH below).
VENV_BIN = Path(os.environ.get("BENCH_VENV") or ROOT / ".venv") / "bin"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--database", default="tt_bench_booking")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--attempts", type=int, default=10, help="bookings tried per client")
    parser.add_argument("--therapists", type=int, default=4)
    parser.add_argument("--pool", type=int, default=60, help="slots the clients fight over")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument(
        "--cold", action="store_true", help="measure bookings without warming them first"
    )
    parser.add_argument(
        "--onto", help="a database seed_scale.py filled: add to it instead of a fresh one"
    )
    return parser.parse_args()


def recreate_database(server: str, name: str) -> str:
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{server}/{name}"


def migrate(env: dict[str, str]) -> None:
    subprocess.run(
        [str(VENV_BIN / "flask"), "--app", "wsgi", "db", "upgrade"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )


def seed(
    database_url: str, therapists: int, clients: int, *, tag: str = ""
) -> tuple[list[int], list[str]]:
    """Therapists open 08:00-20:00 every day online; clients with bearer tokens. The same
    parties as a worker's booking warm-up (teletherapy/warm_booking.py). `tag` makes
    their addresses new in a database that already has a run's."""
    import tempfile

    from teletherapy import create_app
    from teletherapy.extensions import db
    from teletherapy.services.accounts.users import hash_password
    from teletherapy.warm_booking import add_client, add_open_therapist, list_online

    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": database_url, "TESTING": True, "SECRET_KEY": "bench"},
        instance_path=tempfile.mkdtemp(prefix="bench-booking-"),
    )
    password_hash = hash_password("bench-password-1")
    with app.app_context():
        therapist_ids = [
            add_open_therapist(
                f"bench.t{i}{tag}@example.org",
                f"Therapist {i}",
                password_hash,
                start=wall(8),
                end=wall(20),
            )
            for i in range(therapists)
        ]
        db.session.commit()
        for therapist_id in therapist_ids:
            # Booking applies matching's hard filters: a verified licence in the
            # clients' state and a price for their fee band.
            list_online(therapist_id, state="NY", license_number=f"NY-{therapist_id}")
        tokens = [
            add_client(f"bench.c{i}{tag}@example.org", f"Client {i}", password_hash, "NY", "10027")
            for i in range(clients)
        ]
        db.session.commit()
        db.engine.dispose()
    return therapist_ids, tokens


def start_gunicorn(env: dict[str, str], port: int, workers: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [str(VENV_BIN / "gunicorn"), "-w", str(workers), "-b", f"127.0.0.1:{port}", "wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 180  # 4 workers importing the app on 2 busy cores
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200:
                return process
        except requests.RequestException:
            time.sleep(0.2)
    process.terminate()
    raise SystemExit("gunicorn did not answer /healthz within 180 s")


def slot_pool(
    base: str, therapist_ids: list[int], size: int, *, days: int = 3
) -> list[dict[str, Any]]:
    from datetime import UTC, datetime, timedelta

    today = datetime.now(UTC).date()
    pool: list[dict[str, Any]] = []
    for therapist_id in therapist_ids:
        answer = requests.get(
            f"{base}/api/v1/therapists/{therapist_id}/slots",
            params={"from": (today + timedelta(days=1)).isoformat(),
                    "to": (today + timedelta(days=days)).isoformat(), "setting": "online"},
            timeout=10,
        )  # fmt: skip
        answer.raise_for_status()
        pool += [
            {"therapist_id": therapist_id, "start": s["start"], "setting": "online"}
            for s in answer.json()["slots"]
        ]
    random.Random(7).shuffle(pool)
    return pool[:size]


BY_STATUS: dict[int, list[float]] = {}


def hammer(clients: int, work: Any, per_client: int) -> tuple[list[float], Counter[int], float]:
    """Run `work(client_index, session)` per_client times in each of `clients` threads;
    each answer's latency is also kept by status (BY_STATUS, the last call's)."""
    BY_STATUS.clear()
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    lock = threading.Lock()
    barrier = threading.Barrier(clients)

    def run(index: int) -> None:
        session = requests.Session()
        barrier.wait()
        for _ in range(per_client):
            started = time.perf_counter()
            try:
                status = work(index, session)
            except requests.RequestException:
                status = 0
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)
                statuses[status] += 1
                BY_STATUS.setdefault(status, []).append(elapsed)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, statuses, time.perf_counter() - started


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def double_bookings(database_url: str, therapist_ids: list[int]) -> int:
    """Overlapping held or confirmed sessions of the given therapists."""
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            """
            SELECT count(*) FROM bookings a JOIN bookings b
              ON a.therapist_id = b.therapist_id AND a.id < b.id
             AND tstzrange(a.blocked_start_at, a.blocked_end_at, '[)')
                 && tstzrange(b.blocked_start_at, b.blocked_end_at, '[)')
             WHERE a.status IN ('held', 'confirmed') AND b.status IN ('held', 'confirmed')
               AND a.therapist_id = ANY(%s)
            """,
            (therapist_ids,),
        ).fetchone()
    return int(row[0]) if row else -1


def main() -> None:
    args = parse_args()
    sys.path.insert(0, str(ROOT / "platform"))
    # A plain postgresql:// URL: psycopg reads it here, the app normalises it.
    database_url = args.onto or recreate_database(args.server, args.database)
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "TELETHERAPY_RATELIMIT_ENABLED": "false",
        "TELETHERAPY_SECRET_KEY": "bench-booking-secret",
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "platform")]),
    }
    env.pop("TELETHERAPY_SQLALCHEMY_DATABASE_URI", None)
    migrate(env)
    # One more therapist than measured: the warm-up books their slots, not the pool's.
    tag = f".{int(time.time())}" if args.onto else ""
    seeded_ids, tokens = seed(database_url, args.therapists + 1, args.clients, tag=tag)
    warm_id, therapist_ids = seeded_ids[-1], seeded_ids[:-1]
    port = args.port or _free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_gunicorn(env, port, args.workers)
    try:
        pool = slot_pool(base, therapist_ids, args.pool)
        warm_slots = slot_pool(base, [warm_id], args.clients, days=7)
        rng = [random.Random(i) for i in range(args.clients)]

        def healthz(_index: int, session: requests.Session) -> int:
            return session.get(f"{base}/healthz", timeout=30).status_code

        def book(index: int, session: requests.Session) -> int:
            body = rng[index].choice(pool)
            answer = session.post(
                f"{base}/api/v1/bookings",
                json=body,
                headers={"Authorization": f"Bearer {tokens[index]}"},
                timeout=60,
            )
            return answer.status_code

        def warm_booking(index: int, session: requests.Session) -> int:
            answer = session.post(
                f"{base}/api/v1/bookings",
                json=warm_slots[index % len(warm_slots)],
                headers={"Authorization": f"Bearer {tokens[index]}"},
                timeout=60,
            )
            return answer.status_code

        # Warm each path the same way before it is measured: every worker's connection
        # pool (/healthz), and what a worker does once per process on its first bookings
        # (compiling statements and email templates, preparing statements on its
        # connection) with bookings of another therapist, each made, then refused.
        hammer(args.clients, healthz, 2)
        if not args.cold:
            hammer(args.clients, warm_booking, 2)
        cpu_before = cpu_seconds(server.pid)
        health, health_status, health_seconds = hammer(args.clients, healthz, args.attempts)
        cpu_between = cpu_seconds(server.pid)
        booking, booking_status, wall_seconds = hammer(args.clients, book, args.attempts)
        booking_by_status = dict(BY_STATUS)
        cpu_after = cpu_seconds(server.pid)
    finally:
        server.terminate()
        try:
            server.wait(60)  # a loaded machine takes a while to stop four workers
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    doubles = double_bookings(database_url, seeded_ids)

    h50, h95 = percentile(health, 0.50), percentile(health, 0.95)
    b50, b95 = percentile(booking, 0.50), percentile(booking, 0.95)
    print(
        f"gunicorn -w {args.workers}, PostgreSQL, {args.clients} concurrent clients, "
        f"{args.attempts} bookings each over a pool of {len(pool)} slots of "
        f"{len(therapist_ids)} therapists"
        + (f", added to {_sizes(database_url)}" if args.onto else "")
    )
    print(f"GET /healthz        p50 {h50 * 1000:7.1f} ms  p95 {h95 * 1000:7.1f} ms  "
          f"statuses {dict(health_status)}")  # fmt: skip
    print(f"POST /bookings      p50 {b50 * 1000:7.1f} ms  p95 {b95 * 1000:7.1f} ms  "
          f"statuses {dict(booking_status)}")  # fmt: skip
    print(f"  ratio to /healthz p50 x{b50 / h50:.1f}   p95 x{b95 / h95:.1f}")
    print("  by answer: " + "   ".join(
        f"{status} p50 {percentile(times, 0.5) * 1000:.1f} ms"
        f" p95 {percentile(times, 0.95) * 1000:.1f} ms"
        for status, times in sorted(booking_by_status.items())))  # fmt: skip
    print(f"  throughput {len(booking) / wall_seconds:.1f} booking requests/s "
          f"({booking_status[201]} booked, {booking_status[409]} refused with 409, "
          f"{statistics.mean(booking) * 1000:.1f} ms mean)")  # fmt: skip
    booking_rate, health_rate = len(booking) / wall_seconds, len(health) / health_seconds
    print(f"  /healthz throughput measured the same way {health_rate:.1f} requests/s: "
          f"bookings reach {100 * booking_rate / health_rate:.0f} % of it")  # fmt: skip
    print("  CPU per request (ms), by process: "
          + "   ".join(f"{name} {_cpu_per_request(name, cpu_before, cpu_between, len(health))}"
                       f" -> {_cpu_per_request(name, cpu_between, cpu_after, len(booking))}"
                       for name in ("web", "database", "clients"))
          + "   (/healthz -> bookings)")  # fmt: skip
    print(f"double bookings in the database: {doubles}")
    if doubles != 0 or set(booking_status) - {201, 409}:
        raise SystemExit("FAILED: double bookings or unexpected statuses")


def _sizes(database_url: str) -> str:
    with psycopg.connect(database_url) as conn:
        therapists, sessions = conn.execute(
            "SELECT (SELECT count(*) FROM therapist_profiles), (SELECT count(*) FROM bookings)"
        ).fetchone() or (0, 0)
    return f"a database of {therapists:,} therapists and {sessions:,} sessions"


def cpu_seconds(server_pid: int) -> dict[str, float]:
    """CPU seconds used so far by the web server (gunicorn and its workers), by every
    PostgreSQL process on this machine, and by this script (the 50 client threads)."""
    import resource

    tick = os.sysconf("SC_CLK_TCK")
    used = {"web": 0.0, "database": 0.0}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # gone meanwhile
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        pid, parent = int(entry.name), int(fields[1])
        seconds = (int(fields[11]) + int(fields[12])) / tick
        if pid == server_pid or parent == server_pid:
            used["web"] += seconds
        elif name.startswith("postgres"):
            used["database"] += seconds
    mine = resource.getrusage(resource.RUSAGE_SELF)
    used["clients"] = mine.ru_utime + mine.ru_stime
    return used


def _cpu_per_request(
    name: str, before: dict[str, float], after: dict[str, float], requests: int
) -> str:
    return f"{1000 * (after[name] - before[name]) / requests:.1f}"


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


if __name__ == "__main__":
    main()
