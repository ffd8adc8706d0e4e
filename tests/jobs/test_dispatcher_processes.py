"""Two dispatcher processes on PostgreSQL: every due reminder sent exactly once, none lost."""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import create_engine, func, insert, select, text

from teletherapy import create_app
from teletherapy.clock import utcnow
from teletherapy.extensions import db
from teletherapy.models import OutboxMessage
from teletherapy.services.accounts.users import create_user
from teletherapy.services.messaging import outbox
from tests.booking_rows import add_booking

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def pg_app(postgres_url: str, tmp_path: Path) -> Iterator[Flask]:
    """PostgreSQL only: SKIP LOCKED and real concurrency are what this file tests."""
    engine = create_engine(postgres_url)
    tables = ", ".join(t.name for t in db.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()
    app = create_app(
        {"TESTING": True, "SECRET_KEY": "t", "SQLALCHEMY_DATABASE_URI": postgres_url},
        instance_path=tmp_path / "instance",
    )
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def enqueue_reminders(count: int) -> list[int]:
    """`count` due reminders of one confirmed booking, each with a subject naming its row."""
    therapist = create_user(email="t@example.org", password="x" * 12, role="therapist")
    client = create_user(email="c@example.org", password="x" * 12)
    now = utcnow()
    booking = add_booking(db, therapist, client, now + timedelta(days=2))
    # One multi-row INSERT of what outbox.enqueue adds (2,000 ORM adds cost seconds).
    row = outbox.enqueue(
        kind="reminder",
        to_address=client.email,
        subject="Reminder 0",
        body_text="Your session is soon.",
        due_at=now - timedelta(seconds=1),
        user_id=client.id,
        booking_id=booking.id,
        dedupe_key="reminder-test-0",
    )
    db.session.flush()
    shape = {c.key: getattr(row, c.key) for c in OutboxMessage.__table__.columns if c.key != "id"}
    more = [
        {**shape, "subject": f"Reminder {i}", "dedupe_key": f"reminder-test-{i}"}
        for i in range(1, count)
    ]
    if more:
        db.session.execute(insert(OutboxMessage), more)
    db.session.commit()
    return list(db.session.scalars(select(OutboxMessage.id).order_by(OutboxMessage.id)))


def worker(url: str, folder: Path, owner: str, *extra: str) -> list[str]:
    return [sys.executable, "-m", "tests.jobs.dispatcher_worker", "--database-url", url,
            "--outbox", str(folder), "--owner", owner, *extra]  # fmt: skip


def start(command: list[str], log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with log.open("wb") as handle:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT)


def wait_for(path: Path, process: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"worker did not reach {path.name}: {log.read_text()[-2000:]}")
        time.sleep(0.05)


def delivered_subjects(folder: Path) -> collections.Counter[str]:
    parser = BytesHeaderParser()
    subjects: collections.Counter[str] = collections.Counter()
    for path in folder.glob("*.eml"):
        with path.open("rb") as handle:
            subjects[str(parser.parse(handle)["Subject"])] += 1
    return subjects


def statuses() -> dict[str, int]:
    db.session.rollback()
    return dict(
        db.session.execute(
            select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
        ).all()
    )


def test_two_dispatcher_processes_send_2000_reminders_exactly_once(
    pg_app: Any, postgres_url: str, tmp_path: Path
) -> None:
    enqueue_reminders(2000)
    folder, go = tmp_path / "outbox", tmp_path / "go"
    processes = []
    for name in ("a", "b"):
        log, ready = tmp_path / f"{name}.log", tmp_path / f"{name}.ready"
        command = worker(postgres_url, folder, name, "--batch", "50",
                         "--ready", str(ready), "--go", str(go))  # fmt: skip
        process = start(command, log)
        processes.append((process, log, ready))
    for process, log, ready in processes:
        wait_for(ready, process, log)
    go.write_text("go")  # both start sweeping at the same moment
    for process, log, _ in processes:
        assert process.wait(timeout=300) == 0, log.read_text()[-2000:]

    subjects = delivered_subjects(folder)
    assert sum(subjects.values()) == 2000
    assert set(subjects) == {f"Reminder {i}" for i in range(2000)}
    assert max(subjects.values()) == 1
    assert statuses() == {"sent": 2000}
    owners = dict(
        db.session.execute(
            select(OutboxMessage.lease_owner, func.count()).group_by(OutboxMessage.lease_owner)
        ).all()
    )
    assert set(owners) == {"a", "b"}  # both really took part


def test_a_dispatcher_killed_mid_batch_loses_nothing(
    pg_app: Any, postgres_url: str, tmp_path: Path
) -> None:
    enqueue_reminders(300)
    folder = tmp_path / "outbox"
    marker, log_a = tmp_path / "a.stalled", tmp_path / "a.log"
    doomed = start(
        worker(postgres_url, folder, "a", "--batch", "100", "--lease-seconds", "3",
               "--stall-after", "40", "--stall-marker", str(marker)),
        log_a,
    )  # fmt: skip
    wait_for(marker, doomed, log_a)
    doomed.send_signal(signal.SIGKILL)
    doomed.wait(timeout=30)
    assert statuses() == {"sent": 40, "sending": 60, "pending": 200}

    log_b = tmp_path / "b.log"
    # The survivor's own leases are long: on a loaded machine a 3-second lease could run out
    # while it still sends its batch, and it would count rows it took from itself.
    survivor = start(worker(postgres_url, folder, "b", "--lease-seconds", "60"), log_b)
    assert survivor.wait(timeout=120) == 0, log_b.read_text()[-2000:]

    subjects = delivered_subjects(folder)
    assert set(subjects) == {f"Reminder {i}" for i in range(300)}
    assert max(subjects.values()) == 1
    assert statuses() == {"sent": 300}
    # The 60 rows the dead one held were claimed twice: once by it, then by the survivor.
    taken_over = db.session.scalar(
        select(func.count()).where(OutboxMessage.attempts == 2, OutboxMessage.lease_owner == "b")
    )
    assert taken_over == 60
