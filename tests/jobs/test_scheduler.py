"""The dispatcher: APScheduler settings, and a real `flask scheduler` process sending mail."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from flask import Flask

from teletherapy.jobs.scheduler import build_scheduler

ROOT = Path(__file__).resolve().parents[2]


def test_scheduler_sweeps_with_coalescing_and_a_generous_misfire_grace(app: Flask) -> None:
    scheduler = build_scheduler(app, blocking=False)
    scheduler.start(paused=True)  # job defaults are applied when the scheduler starts
    try:
        jobs = scheduler.get_jobs()
        assert "sweep_outbox" in {job.id for job in jobs}
        for job in jobs:
            assert job.misfire_grace_time >= 60
            assert job.coalesce is True
            assert job.max_instances == 1
    finally:
        scheduler.shutdown(wait=False)


def test_flask_scheduler_process_delivers_due_mail(
    app: Flask, database_url: str, tmp_path: Path
) -> None:
    from teletherapy.extensions import db
    from teletherapy.services.messaging import outbox

    outbox.enqueue(
        kind="test",
        to_address="someone@example.org",
        subject="Hi",
        body_text="From the dispatcher",
        due_at=datetime.now(UTC),
    )
    db.session.commit()
    instance = tmp_path / "dispatcher-instance"
    env = {
        **os.environ,
        "TELETHERAPY_SQLALCHEMY_DATABASE_URI": database_url,
        "TELETHERAPY_SECRET_KEY": "x" * 40,
        "TELETHERAPY_ENV": "testing",
        "TELETHERAPY_DISPATCHER_INTERVAL_SECONDS": "1",
        "TELETHERAPY_INSTANCE_PATH": str(instance),
    }
    env.pop("DATABASE_URL", None)
    script = (
        "import sys; from teletherapy import create_app; "
        "from teletherapy.jobs.scheduler import build_scheduler; "
        f"app = create_app(instance_path={str(instance)!r}); "
        "build_scheduler(app, blocking=True).start()"
    )
    log = tmp_path / "dispatcher.log"
    with log.open("wb") as handle:  # a file, not a pipe: a full pipe would stop the process
        proc = subprocess.Popen(
            [sys.executable, "-c", script], cwd=ROOT, env=env, stdout=handle, stderr=handle
        )
    try:
        # A loaded CI machine can take a while to start a Python process with the app.
        deadline = time.monotonic() + 120
        files: list[Path] = []
        while time.monotonic() < deadline and not files and proc.poll() is None:
            files = list((instance / "outbox").glob("*.eml"))
            time.sleep(0.2)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    assert files, log.read_text(errors="replace")[-3000:] or "no output"
    assert b"From the dispatcher" in files[0].read_bytes()
    db.session.expire_all()
    from teletherapy.models import OutboxMessage

    assert db.session.query(OutboxMessage).one().status == "sent"
