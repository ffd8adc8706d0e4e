"""`make load` (issue 14): seed, start the topology, run the locust mix, report.

    python benchmarks/load/run.py [--duration 75] [--users 40] [--size small|large]
                                  [--no-topology] [--dir DIR] [--no-pgbouncer]
                                  [--topology-args "--pg-port 25532 ..."]

1. Starts the production topology on loopback with `deploy/topology.py up --dir DIR`
   (two gunicorn nodes, two dispatchers, PostgreSQL with a streaming replica, Redis) and
   reads DIR/topology.json. With --no-topology it starts a small stand-in instead: a
   fresh database (`--database`, default tt_load) on the local PostgreSQL, one gunicorn
   (`--workers`) and two dispatcher processes (`flask scheduler`).
2. Seeds through the primary: demo therapists (`seed-demo`'s code; --size large: the
   100,000 therapists / 1,000,000 sessions of benchmarks/seed_scale.py), clients with
   API tokens and calendar feeds; once the nodes answer, reminders falling due during
   the run.
3. Runs benchmarks/load/locustfile.py headless for --duration seconds against every web
   node, then prints per endpoint: requests, errors, requests/s, p50/p95/p99 and each
   as a ratio to GET /healthz measured in the same run; the booking outcomes; the
   reminders sent by the dispatchers meanwhile (duplicates, missing); and the double
   bookings found in the database (overlapping active sessions of one therapist).
Exits non-zero when there are errors, double bookings or duplicate reminders.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any

import psycopg
import requests

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent  # locust, gunicorn and flask of the running virtualenv
REMINDER_PREFIX = "load-reminder-"
SIZES = {"small": (1000, None), "large": (100_000, 1_000_000)}  # therapists, sessions


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=75, help="seconds of load")
    parser.add_argument("--users", type=int, default=40, help="concurrent simulated users")
    parser.add_argument("--spawn-rate", type=float, default=10.0)
    parser.add_argument("--size", choices=sorted(SIZES), default="small")
    parser.add_argument("--therapists", type=int, help="override the size's therapists")
    parser.add_argument("--clients", type=int, default=300, help="clients with API tokens")
    parser.add_argument("--reminders", type=int, default=2000, help="due during the run")
    parser.add_argument("--dir", type=Path, help="working directory (default: a temp dir)")
    parser.add_argument("--no-topology", action="store_true", help="one gunicorn stand-in")
    parser.add_argument(
        "--no-pgbouncer",
        action="store_true",
        help="the topology's web nodes straight to the primary",
    )
    parser.add_argument(
        "--topology-args", default="", help="more arguments for deploy/topology.py up (ports)"
    )
    parser.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--database", default="tt_load_run", help="--no-topology's database")
    parser.add_argument("--workers", type=int, default=4, help="--no-topology's workers")
    parser.add_argument("--port", type=int, default=8191, help="--no-topology's port")
    return parser.parse_args()


# --- the topology --------------------------------------------------------------------------


class Topology:
    """What the load runs against: web node URLs, the primary, the mail folder."""

    def __init__(self, args: argparse.Namespace, folder: Path) -> None:
        self.args, self.folder = args, folder
        self.processes: list[subprocess.Popen[bytes]] = []
        self.pids: dict[str, int] = {}
        self.web: list[str] = []
        self.primary_url = ""
        self.mail_dir = folder / "instance" / "outbox"

    def up(self) -> None:
        if self.args.no_topology:
            self.primary_url = _recreate_database(self.args.server, self.args.database)
            return
        script = ROOT / "deploy" / "topology.py"
        if not script.exists():
            raise SystemExit(f"{script} is missing: run with --no-topology")
        # One client address sends every request: per-address rate limits would refuse
        # most of them (the topology's nodes inherit this environment, if it passes it on).
        env = {**os.environ, "TELETHERAPY_RATELIMIT_ENABLED": "false"}
        command = [sys.executable, str(script), "up", "--dir", str(self.folder), "--no-rate-limits"]
        command += shlex.split(self.args.topology_args)
        if self.args.no_pgbouncer:
            command.append("--no-pgbouncer")
        subprocess.run(command, check=True, env=env)
        described = json.loads((self.folder / "topology.json").read_text())
        self.primary_url, self.web = described["primary_url"], list(described["web"])
        self.pids = {k: v for k, v in described["pids"].items() if v}
        self.mail_dir = Path(described["mail_dir"])

    def start_services(self) -> None:
        """The stand-in's gunicorn and dispatchers (the topology started its own)."""
        if not self.args.no_topology:
            return
        env = _app_env(self.primary_url)
        factory = f"teletherapy:create_app(instance_path={str(self.folder / 'instance')!r})"
        log = (self.folder / "services.log").open("ab")
        port = self.args.port
        gunicorn = [
            str(BIN / "gunicorn"),
            "-w",
            str(self.args.workers),
            "-b",
            f"127.0.0.1:{port}",
            factory,
        ]
        self.processes.append(subprocess.Popen(gunicorn, cwd=ROOT, env=env, stdout=log, stderr=log))
        for _ in range(2):
            scheduler = [str(BIN / "flask"), "--app", factory, "scheduler"]
            self.processes.append(
                subprocess.Popen(scheduler, cwd=ROOT, env=env, stdout=log, stderr=log)
            )
        self.web = [f"http://127.0.0.1:{port}"]

    def wait_ready(self, seconds: float = 240) -> None:
        deadline = time.monotonic() + seconds
        pending = list(self.web)
        while pending and time.monotonic() < deadline:
            try:
                if requests.get(f"{pending[0]}/healthz", timeout=5).status_code == 200:
                    pending.pop(0)
                    continue
            except requests.RequestException:
                pass
            time.sleep(0.5)
        if pending:
            raise SystemExit(f"no answer from {pending} within {seconds:.0f} s")

    def down(self) -> None:
        for process in self.processes:
            process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
        if not self.args.no_topology:
            subprocess.run(
                [
                    sys.executable,
                    str(ROOT / "deploy" / "topology.py"),
                    "down",
                    "--dir",
                    str(self.folder),
                ],
                check=False,
            )


def cpu_seconds(pids: dict[str, int]) -> dict[str, float]:
    """CPU time (user + system) so far of each part's process group: a web node with its
    workers, PgBouncer, the primary's postmaster with its backends (Linux /proc)."""
    groups = {"web nodes": [p for n, p in pids.items() if n.startswith("web-")]}
    groups["pgbouncer"] = [p for n, p in pids.items() if n == "pgbouncer"]
    groups["primary"] = [p for n, p in pids.items() if n == "postgres_primary"]
    totals = dict.fromkeys(groups, 0.0)
    tick = os.sysconf("SC_CLK_TCK")
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parent, group = int(fields[1]), int(fields[2])
        for name, leaders in groups.items():
            if group in leaders or parent in leaders or int(stat.parent.name) in leaders:
                totals[name] += (int(fields[11]) + int(fields[12])) / tick
                break
    return totals


def _recreate_database(server: str, name: str) -> str:
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{server}/{name}"


def _app_env(database_url: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "TELETHERAPY_SECRET_KEY": "load-secret-key",
        # One client address sends every request: per-address limits would refuse most.
        "TELETHERAPY_RATELIMIT_ENABLED": "false",
        "TELETHERAPY_DISPATCHER_INTERVAL_SECONDS": "2",
        "TELETHERAPY_PUBLIC_URL": "http://127.0.0.1",
        "PYTHONPATH": os.pathsep.join([str(ROOT / "platform"), str(ROOT)]),
    }
    env.pop("TELETHERAPY_SQLALCHEMY_DATABASE_URI", None)
    return env


# --- seeding -------------------------------------------------------------------------------


def seed(args: argparse.Namespace, database_url: str, folder: Path) -> dict[str, Any]:
    """Migrate, seed therapists, then clients with tokens and feeds; returns the seed file."""
    sys.path[:0] = [str(ROOT / "platform"), str(ROOT)]
    from flask_migrate import upgrade

    from teletherapy import create_app
    from teletherapy.extensions import db

    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": database_url, "TESTING": True, "SECRET_KEY": "load"},
        instance_path=folder / "seed-instance",
    )
    therapists, sessions = SIZES[args.size]
    therapists = args.therapists or therapists
    started = time.perf_counter()
    with app.app_context():
        upgrade()
        if sessions is None:
            from teletherapy.demo.seed import seed_demo

            seed_demo(therapists=therapists, clients=10, seed=1)
        else:
            seed_scale = ROOT / "benchmarks" / "seed_scale.py"
            if not seed_scale.exists():
                raise SystemExit(f"--size large needs {seed_scale} (not there yet)")
            sys.path.insert(0, str(seed_scale.parent))
            __import__("seed_scale").seed(database_url, therapists, sessions)
        described = _seed_clients(args.clients)
        db.session.remove()
        db.engine.dispose()
    described["seconds"] = round(time.perf_counter() - started, 1)
    described["therapists"] = therapists
    return described


def _seed_clients(count: int) -> dict[str, Any]:
    from sqlalchemy import select

    from teletherapy.clock import utcnow
    from teletherapy.extensions import db
    from teletherapy.models import ApiToken, ClientProfile, User
    from teletherapy.models import TherapistProfile as Therapist
    from teletherapy.services.accounts.users import hash_password, token_digest
    from teletherapy.services.calendars.feeds import get_or_create_feed

    now, rng = utcnow(), random.Random(14)
    # Clients live where the therapists practise (the places of the first 2,000).
    places = db.session.execute(
        select(User.state, User.zip)
        .join(Therapist, Therapist.user_id == User.id)
        .where(User.state.is_not(None), User.zip.is_not(None))
        .order_by(Therapist.id)
        .limit(2000)
    ).all()
    password_hash = hash_password("load-password-1")
    clients: list[dict[str, Any]] = []
    for i in range(count):
        state, zip_code = ("NY", "10027") if i % 3 == 0 or not places else rng.choice(places)
        user = User(
            email=f"load.c{i}@example.org",
            password_hash=password_hash,
            role="client",
            display_name=f"Load Client {i}",
            state=state,
            zip=zip_code,
            time_zone="America/New_York",
            created_at=now,
        )
        db.session.add(user)
        db.session.flush()
        token = f"tt_load_{i}_{rng.getrandbits(64):016x}"
        db.session.add_all(
            [
                ClientProfile(user_id=user.id, created_at=now),
                ApiToken(
                    user_id=user.id,
                    token_hash=token_digest(token),
                    label="load",
                    created_at=now,
                    expires_at=now + timedelta(days=2),
                ),
            ]
        )
        clients.append({"user_id": user.id, "token": token, "state": state, "zip": zip_code})
    db.session.commit()
    for row in clients[: count // 2]:  # half the clients subscribe to their feed
        url = get_or_create_feed(user_id=row["user_id"], now=now).url or ""
        row["feed_path"] = url[url.index("/feeds/") :]
    therapist_users = db.session.scalars(
        select(Therapist.user_id).order_by(Therapist.id).limit(50)
    ).all()
    therapist_feeds = []
    for user_id in therapist_users:
        url = get_or_create_feed(user_id=user_id, now=now).url or ""
        therapist_feeds.append(url[url.index("/feeds/") :])
    return {"clients": clients, "therapist_feed_paths": therapist_feeds}


def add_reminders(database_url: str, count: int, duration: int) -> int:
    """`count` reminders of one confirmed session falling due over the first two thirds of
    the run (the dispatchers send them while the load runs); returns how many were added."""
    with psycopg.connect(database_url) as conn:
        found = conn.execute(
            "SELECT b.id, u.id, u.email FROM bookings b JOIN users u ON u.id = b.client_id "
            "WHERE b.status = 'confirmed' ORDER BY b.id LIMIT 1"
        ).fetchone()
        if found is None or count <= 0:
            return 0
        conn.execute(
            """INSERT INTO outbox_messages (kind, channel, dedupe_key, user_id, booking_id,
                   to_address, subject, body_text, headers, is_sensitive, status, created_at,
                   due_at, attempts)
               SELECT 'reminder', 'email', %(prefix)s || i, %(user)s, %(booking)s, %(to)s,
                   'Load reminder ' || i, 'Your session is soon.', '{}', false, 'pending',
                   now(), now() + make_interval(secs => i * %(spread)s), 0
                 FROM generate_series(0, %(count)s - 1) AS i""",
            {
                "prefix": REMINDER_PREFIX,
                "user": found[1],
                "booking": found[0],
                "to": found[2],
                "count": count,
                "spread": duration * 2 / 3 / count,
            },
        )
    return count


# --- load and report -----------------------------------------------------------------------


def run_locust(args: argparse.Namespace, folder: Path, web: list[str]) -> Path:
    prefix = folder / "locust"
    env = {
        **os.environ,
        "LOAD_SEED_FILE": str(folder / "seed.json"),
        "LOAD_OUTCOMES_FILE": str(folder / "outcomes.json"),
        "LOAD_HOSTS": ",".join(web),
    }
    command = [
        str(BIN / "locust"),
        "-f",
        str(HERE / "locustfile.py"),
        "--headless",
        "-u",
        str(args.users),
        "-r",
        str(args.spawn_rate),
        "-t",
        f"{args.duration}s",
        "--host",
        web[0],
        "--csv",
        str(prefix),
        "--only-summary",
        "--stop-timeout",
        "10",
        "--loglevel",
        "WARNING",
    ]
    with (folder / "locust.log").open("wb") as log:
        subprocess.run(command, env=env, stdout=log, stderr=log, check=False)
    return prefix.with_name("locust_stats.csv")


def report_requests(stats_csv: Path) -> int:
    """Print the per-endpoint table; returns the number of failed requests."""
    rows = list(csv.DictReader(stats_csv.open(encoding="utf-8")))
    health = next((r for r in rows if r["Name"] == "GET /healthz"), None)

    def ms(row: dict[str, str], key: str) -> float:
        return float(row[key] or 0)

    print(
        f"{'endpoint':44} {'reqs':>6} {'fail':>5} {'req/s':>6} {'p50':>6} {'p95':>6} "
        f"{'p99':>6}  ratio to /healthz p50/p95/p99"
    )
    for row in rows:
        name = "all requests" if row["Name"] == "Aggregated" else row["Name"]
        ratio = ""
        if health is not None and ms(health, "50%") > 0:
            ratio = "  x" + " / x".join(
                f"{ms(row, k) / max(ms(health, k), 0.001):.1f}" for k in ("50%", "95%", "99%")
            )
        print(
            f"{name:44} {row['Request Count']:>6} {row['Failure Count']:>5} "
            f"{float(row['Requests/s']):6.1f} {ms(row, '50%'):6.0f} {ms(row, '95%'):6.0f} "
            f"{ms(row, '99%'):6.0f}{ratio}"
        )
    print("  (milliseconds; locust rounds percentiles above 100 ms to 2 significant digits)")
    total = next((r for r in rows if r["Name"] == "Aggregated"), None)
    return int(total["Failure Count"]) if total else 0


def report_database(
    database_url: str, mail_dir: Path, reminders: int, since: datetime
) -> tuple[int, int]:
    """Double bookings, and the seeded reminders: sent, pending, duplicates, missing."""
    with psycopg.connect(database_url) as conn:
        conn.execute("SET statement_timeout = 0")  # a scan of every booking at --size large
        doubles = conn.execute(
            """SELECT count(*) FROM bookings a JOIN bookings b
                 ON a.therapist_id = b.therapist_id AND a.id < b.id
                AND tstzrange(a.blocked_start_at, a.blocked_end_at, '[)')
                    && tstzrange(b.blocked_start_at, b.blocked_end_at, '[)')
              WHERE a.status IN ('held', 'confirmed') AND b.status IN ('held', 'confirmed')"""
        ).fetchone()
        statuses = dict(
            conn.execute(  # type: ignore[arg-type]
                "SELECT status, count(*) FROM outbox_messages WHERE dedupe_key LIKE %s "
                "GROUP BY status",
                (REMINDER_PREFIX + "%",),
            ).fetchall()
        )
        made = conn.execute(
            "SELECT count(*) FROM bookings WHERE created_at >= %s", (since,)
        ).fetchone()
    parser, subjects = BytesHeaderParser(), Counter[str]()
    # .eml files (the stand-in's file mailer) or a Maildir (the topology's SMTP sink).
    written = [*mail_dir.glob("*.eml"), *mail_dir.glob("new/*"), *mail_dir.glob("cur/*")]
    for path in written:
        with path.open("rb") as handle:
            subject = str(parser.parse(handle)["Subject"])
        if subject.startswith("Load reminder "):
            subjects[subject] += 1
    duplicates = sum(n - 1 for n in subjects.values())
    print(
        f"reminders due during the run: {reminders}; outbox now {statuses}; "
        f".eml files {sum(subjects.values())}, duplicates {duplicates}, "
        f"missing {reminders - len(subjects)}"
    )
    print(f"bookings made during the run: {made[0] if made else '?'}")
    double_count = int(doubles[0]) if doubles else -1
    print(f"double bookings in the database: {double_count}")
    return double_count, duplicates


def main() -> int:
    args = parse_args()
    folder = args.dir or Path(tempfile.mkdtemp(prefix="tt-load-"))
    folder.mkdir(parents=True, exist_ok=True)
    topology = Topology(args, folder)
    topology.up()
    try:
        print(
            f"topology: {'stand-in (--no-topology)' if args.no_topology else 'deploy'}; "
            f"working directory {folder}",
            flush=True,
        )
        described = seed(args, topology.primary_url, folder)
        (folder / "seed.json").write_text(json.dumps(described))
        print(
            f"seeded {described['therapists']} therapists and {len(described['clients'])} "
            f"clients with tokens in {described['seconds']} s",
            flush=True,
        )
        topology.start_services()
        topology.wait_ready()
        reminders = add_reminders(topology.primary_url, args.reminders, args.duration)
        load_started = datetime.now(UTC)
        print(f"load: {args.users} users on {topology.web} for {args.duration} s", flush=True)
        cpu_before = cpu_seconds(topology.pids)
        stats = run_locust(args, folder, topology.web)
        cpu = {k: v - cpu_before[k] for k, v in cpu_seconds(topology.pids).items()}
        print(
            f"pgbouncer: {'off' if args.no_pgbouncer else 'on'}; CPU during the load: "
            + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in cpu.items()),
            flush=True,
        )
        time.sleep(5)  # the dispatchers' last sweep
        failures = report_requests(stats)
        outcomes = folder / "outcomes.json"
        if outcomes.exists():
            print(f"outcomes: {json.loads(outcomes.read_text())}")
        doubles, duplicates = report_database(
            topology.primary_url, topology.mail_dir, reminders, load_started
        )
    finally:
        topology.down()
    print(f"errors: {failures} (goal 0)")
    return 0 if failures == 0 and doubles == 0 and duplicates == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
