"""Dispatch benchmark (a script, not a test): `python benchmarks/bench_dispatch.py`.

10,000 reminders fall due at once; two dispatcher processes (tests/jobs/dispatcher_worker.py,
each with its own app) drain them from PostgreSQL with FOR UPDATE SKIP LOCKED, writing
.eml files through FileMailer. Prints the seconds to drain and the number of duplicates,
which must be 0 (the script fails otherwise).

Needs BENCH_DATABASE_URL or TEST_DATABASE_URL: a scratch database, EMPTIED by this script.
BENCH_REMINDERS changes the number of reminders (a loaded machine drains 10,000 slowly).

`--onto URL` runs the same on a database `seed_scale.py` has filled (100,000 therapists,
1,000,000 sessions): nothing is emptied. Its outbox first gets the history such a
database has (one sent reminder per past session, written once, contents pruned as the
retention job leaves them), then the bench's reminders are added under subjects of this
run; duplicates and missing ones are counted among those, and other messages that were
due (a booking bench's notices) are drained too and reported.
"""

from __future__ import annotations

import argparse
import collections
import os
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from email.parser import BytesHeaderParser
from pathlib import Path

from flask_migrate import upgrade
from sqlalchemy import create_engine, func, insert, select, text

from teletherapy import create_app
from teletherapy.clock import utcnow
from teletherapy.extensions import db
from teletherapy.jobs.tasks import CLAIM_BATCH
from teletherapy.models import Booking, OutboxMessage, TherapistProfile, User
from teletherapy.models.outbox import CONTENT_REMOVED
from teletherapy.settings import normalise_database_url

REMINDERS = int(os.environ.get("BENCH_REMINDERS", "10000"))
BATCH = CLAIM_BATCH  # what the dispatcher's sweep claims per round
ROOT = Path(__file__).resolve().parents[1]


def reset(url: str, folder: Path) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    migrate_and_seed(url, folder)


def migrate_and_seed(url: str, folder: Path, tag: str = "") -> None:
    app = create_app(
        {"TESTING": True, "SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": url},
        instance_path=folder,
    )
    with app.app_context():
        upgrade()
        seed(tag)
        db.engine.dispose()


def seed(tag: str = "") -> None:
    """One session and REMINDERS reminders of it due a second ago; `tag` makes the
    addresses and the subjects this run's in a database that already has others."""
    now = utcnow()
    therapist = User(
        email=f"t{tag}@bench.test", password_hash="-", role="therapist", display_name="T"
    )
    client = User(email=f"c{tag}@bench.test", password_hash="-", role="client", display_name="C")
    db.session.add_all([therapist, client])
    db.session.flush()
    profile = TherapistProfile(user_id=therapist.id, display_name="T")
    db.session.add(profile)
    db.session.flush()
    start = now + timedelta(hours=3)
    booking = Booking(
        therapist_id=profile.id, client_id=client.id, status="confirmed", setting="online",
        start_at=start, end_at=start + timedelta(minutes=50), blocked_start_at=start,
        blocked_end_at=start + timedelta(minutes=60), time_zone="America/New_York",
    )  # fmt: skip
    db.session.add(booking)
    db.session.flush()
    db.session.execute(
        insert(OutboxMessage),
        [
            {"kind": "reminder", "channel": "email", "dedupe_key": f"bench{tag}-{i}",
             "user_id": client.id, "booking_id": booking.id, "to_address": client.email,
             "subject": f"Reminder{tag} {i}", "body_text": "Your session is soon.", "headers": {},
             "is_sensitive": False, "status": "pending", "created_at": now,
             "due_at": now - timedelta(seconds=1), "attempts": 0}
            for i in range(REMINDERS)
        ],
    )  # fmt: skip
    db.session.commit()


HISTORY_SQL = f"""
INSERT INTO outbox_messages (kind, channel, dedupe_key, user_id, booking_id, to_address,
    subject, body_text, headers, is_sensitive, status, created_at, due_at, attempts,
    sent_at, lease_owner)
SELECT 'reminder', 'email', 'history-' || b.id, b.client_id, b.id, 'history@bench.test',
    'Reminder', '{CONTENT_REMOVED}', '{{}}', false, 'sent', b.start_at - interval '1 day',
    b.start_at - interval '1 day', 1, b.start_at - interval '1 day', 'history'
  FROM bookings b
 WHERE b.start_at < now() AND b.status IN ('confirmed', 'completed')
   AND NOT EXISTS (SELECT 1 FROM outbox_messages o WHERE o.lease_owner = 'history')
"""


def onto(url: str, folder: Path, tag: str) -> str:
    """Add the history (once) and this run's reminders to a seeded database."""
    engine = create_engine(url)
    started = time.perf_counter()
    with engine.begin() as conn:
        added = conn.execute(text(HISTORY_SQL)).rowcount
    if added:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM (ANALYZE) outbox_messages"))
        print(
            f"  outbox history: {added:,} sent reminders in {time.perf_counter() - started:.1f} s"
        )
    with engine.connect() as conn:
        rows, therapists, sessions = conn.execute(
            text(
                "SELECT (SELECT count(*) FROM outbox_messages),"
                " (SELECT count(*) FROM therapist_profiles), (SELECT count(*) FROM bookings)"
            )
        ).one()
    engine.dispose()
    migrate_and_seed(url, folder, tag)
    return (
        f"added to a database of {therapists:,} therapists, {sessions:,} sessions and "
        f"{rows:,} outbox messages"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--onto", help="a database seed_scale.py filled: add to it")
    args = parser.parse_args()
    raw = args.onto or os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL")
    if not raw:
        print("skipped: set BENCH_DATABASE_URL (or TEST_DATABASE_URL) to a scratch PostgreSQL")
        return 0
    url = normalise_database_url(raw)
    folder = Path(tempfile.mkdtemp(prefix="bench-dispatch-"))
    tag, where = "", ""
    if args.onto:
        tag = f".{int(time.time())}"
        where = ", " + onto(url, folder, tag)
    else:
        reset(url, folder)
    outbox, go = folder / "outbox", folder / "go"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "platform")])}
    workers = []
    for name in ("a", "b"):
        ready = folder / f"{name}.ready"
        command = [sys.executable, "-m", "tests.jobs.dispatcher_worker", "--database-url", url,
                   "--outbox", str(outbox), "--owner", name, "--batch", str(BATCH),
                   "--ready", str(ready), "--go", str(go), "--timeout", "600"]  # fmt: skip
        log = (folder / f"{name}.log").open("wb")
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log)
        workers.append((process, ready))
    for process, ready in workers:
        while not ready.exists():
            if process.poll() is not None:
                print(f"a worker failed to start; see {folder}", file=sys.stderr)
                return 1
            time.sleep(0.05)
    started = time.perf_counter()
    go.write_text("go")
    codes = [process.wait() for process, _ in workers]
    seconds = time.perf_counter() - started

    parser = BytesHeaderParser()
    subjects: collections.Counter[str] = collections.Counter()
    others = 0
    for path in outbox.glob("*.eml"):
        with path.open("rb") as handle:
            subject = str(parser.parse(handle)["Subject"])
        if subject.startswith(f"Reminder{tag} "):
            subjects[subject] += 1
        else:
            others += 1
    duplicates = sum(n - 1 for n in subjects.values())
    missing = REMINDERS - len(subjects)
    engine = create_engine(url)
    with engine.connect() as conn:
        owners = dict(
            conn.execute(
                select(OutboxMessage.lease_owner, func.count())
                .where(OutboxMessage.dedupe_key.like(f"bench{tag}-%"))
                .group_by(OutboxMessage.lease_owner)
            ).all()
        )
    engine.dispose()
    print(f"{REMINDERS} reminders due at once, 2 dispatcher processes, batches of {BATCH}{where}")
    if others:
        print(f"  also sent: {others} other messages that were due")
    print(f"  drained in {seconds:.2f} s ({REMINDERS / seconds:.0f} messages/s)")
    print(f"  per process: {owners}")
    print(f"  duplicates: {duplicates}   missing: {missing}   exit codes: {codes}")
    return 0 if duplicates == 0 and missing == 0 and codes == [0, 0] else 1


if __name__ == "__main__":
    sys.exit(main())
