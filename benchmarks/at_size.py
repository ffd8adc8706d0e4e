"""Issue 14's table at national size (a script, not a test): `make bench-at-size`.

    python benchmarks/at_size.py [--database-url URL] [--reseed] [--cold]

Seeds one PostgreSQL database with `seed_scale.py` (100,000 therapists, 1,000,000
sessions; skipped when the database already holds that seed, unless `--reseed`), then
runs every row of the issue's table on it, one benchmark after the other, each with its
own /healthz baseline measured in the same run:

  * matching (`bench_matching.py --seeded --sizes 100000`);
  * next openings for 1,000 therapists (`bench_next_openings.py --onto`);
  * the feed of 2,000 sessions, first build after a change and 304 (`bench_feeds.py --onto`);
  * bookings, 4 workers, 50 clients (`bench_booking.py --onto`, warmed; `--cold` too);
  * 10,000 due reminders, 2 dispatchers (`bench_dispatch.py --onto`).

The benchmarks add their own rows (under addresses of their own) and drop nothing, so
the database keeps growing a little from run to run. At the end it prints each
benchmark's figure lines again, together, under the goal they are measured against.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/tt_at_size"
THERAPISTS, SESSIONS = 100_000, 1_000_000

# (name, goal, command after the interpreter, what marks a figure line of its output)
Step = tuple[str, str, list[str], tuple[str, ...]]


def steps(url: str, *, cold: bool) -> list[Step]:
    found: list[Step] = [
        (
            "matching, 100,000 therapists",
            "p95 <= 100 ms",
            [
                "benchmarks/bench_matching.py",
                "--only",
                "postgresql",
                "--sizes",
                "100000",
                "--seeded",
            ],
            ("  GET /healthz", "  POST /api/v1/matches", "    "),
        ),
        (
            "next openings for 1,000 therapists",
            "<= 40 ms",
            ["benchmarks/bench_next_openings.py", "--onto", url],
            ("PostgreSQL", "  "),
        ),
        (
            "feed of 2,000 sessions",
            "first build after a change <= 60 ms; 304 <= 1.5x /healthz",
            ["benchmarks/bench_feeds.py", "--onto", url],
            ("feed of", "  "),
        ),
        (
            "bookings, 4 workers, 50 clients",
            "p95 <= 4x /healthz; >= 35 % of its throughput; 0 double bookings",
            ["benchmarks/bench_booking.py", "--onto", url],
            ("gunicorn", "GET", "POST", "  ", "double"),
        ),
        (
            "10,000 due reminders, 2 dispatchers",
            "<= 10 s, 0 duplicates, 0 missing",
            ["benchmarks/bench_dispatch.py", "--onto", url],
            ("10000", "  "),
        ),
    ]
    if cold:
        found.insert(
            4,
            (
                "bookings, cold workers",
                "as above, the workers not warmed by the bench",
                ["benchmarks/bench_booking.py", "--onto", url, "--cold"],
                ("gunicorn", "GET", "POST", "  ", "double"),
            ),
        )
    return found


def seeded(url: str) -> bool:
    """Whether the database holds seed_scale.py's national seed."""
    try:
        with psycopg.connect(url) as conn:
            row = conn.execute(
                "SELECT (SELECT count(*) FROM therapist_profiles), (SELECT count(*) FROM bookings)"
            ).fetchone()
    except psycopg.Error:
        return False
    return row is not None and row[0] >= THERAPISTS and row[1] >= SESSIONS


def recreate(url: str) -> None:
    server, name = url.rsplit("/", 1)
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--reseed", action="store_true", help="drop and seed it again")
    parser.add_argument("--cold", action="store_true", help="bookings also without warming")
    args = parser.parse_args()
    url = args.database_url
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "platform")]),
        "BENCH_DATABASE_URL": url,
        "BENCH_VENV": str(Path(sys.executable).parent.parent),
    }
    if args.reseed or not seeded(url):
        recreate(url)
        sizes = ["--therapists", str(THERAPISTS), "--sessions", str(SESSIONS)]
        command = [sys.executable, "benchmarks/seed_scale.py", "--database-url", url, *sizes]
        subprocess.run([*command, "--migrate"], cwd=ROOT, env=env, check=True)
    summary: list[str] = []
    failed = []
    for name, goal, command, marks in steps(url, cold=args.cold):
        print(f"\n== {name} (goal: {goal})", flush=True)
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, *command], cwd=ROOT, env=env, capture_output=True, text=True
        )
        print(done.stdout, end="")
        lines = [line for line in done.stdout.splitlines() if line.startswith(marks)]
        summary += [f"{name} (goal: {goal}; {time.perf_counter() - started:.0f} s)", *lines, ""]
        if done.returncode != 0:
            print(done.stderr[-3000:], file=sys.stderr)
            failed.append(name)
    print("\n" + "=" * 30 + " issue 14's table at 100,000 therapists, 1,000,000 sessions")
    print("\n".join(summary))
    if failed:
        print(f"FAILED: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
