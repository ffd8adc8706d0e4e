"""The benchmarks' `--onto` mode (benchmarks/at_size.py): run on a database seed_scale.py
filled, they add their own rows and leave every seeded one as it was."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from tests.conftest import _truncate_all

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

from seed_scale import seed  # noqa: E402


def _counts(url: str, seeded: range) -> dict[str, Any]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {
                table: conn.execute(text(f"SELECT count(*) FROM {table}")).scalar()
                for table in ("therapist_profiles", "bookings", "booking_feed_texts", "users")
            } | {
                "seeded sessions": tuple(
                    conn.execute(
                        text(
                            "SELECT count(*), sum(id), max(updated_at), max(status) FROM bookings"
                            " WHERE therapist_id BETWEEN :first AND :last"
                        ),
                        {"first": seeded[0], "last": seeded[-1]},
                    ).one()
                )
            }
    finally:
        engine.dispose()


def _bench(*args: str, **env: str) -> str:
    done = subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env={
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "platform")]),
            **env,
        },
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return done.stdout


def test_the_benchmarks_add_to_a_seeded_database_and_change_none_of_its_rows(
    postgres_url: str,
) -> None:
    _truncate_all(postgres_url)
    first = seed(postgres_url, 60, 600)["first_therapist_id"]
    seeded = range(first, first + 60)
    before = _counts(postgres_url, seeded)

    openings = _bench("benchmarks/bench_next_openings.py", "--onto", postgres_url)
    assert "60 therapists, 600 sessions (seed_scale.py's)" in openings
    assert "next_openings x 60, online" in openings
    assert _counts(postgres_url, seeded) == before  # it only reads

    feeds = _bench("benchmarks/bench_feeds.py", "--onto", postgres_url, BENCH_REPEATS="1")
    assert "added to a database of 61 therapists and 2,600 sessions" in feeds
    dispatch = _bench("benchmarks/bench_dispatch.py", "--onto", postgres_url, BENCH_REMINDERS="200")
    assert "duplicates: 0   missing: 0   exit codes: [0, 0]" in dispatch
    assert "outbox history: " in dispatch  # one sent reminder per past seeded session

    after = _counts(postgres_url, seeded)
    assert after["therapist_profiles"] == before["therapist_profiles"] + 2
    assert after["bookings"] == before["bookings"] + 2000 + 1
    assert after["seeded sessions"] == before["seeded sessions"]
    # The feed bench cleared only its own therapist's kept event texts.
    assert after["booking_feed_texts"] >= 2000
