"""The outbox sweep: sends once, retries with backoff, dead-letters, survives a dead dispatcher."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from teletherapy.gateways.mail import OutgoingMessage
from teletherapy.models import OutboxMessage
from teletherapy.services.messaging import outbox


class RecordingMailer:
    def __init__(self, fail_times: int = 0) -> None:
        self.sent: list[OutgoingMessage] = []
        self.fail_times = fail_times

    def send(self, message: OutgoingMessage) -> str:
        if self.fail_times:
            self.fail_times -= 1
            raise ConnectionError("smtp down")
        self.sent.append(message)
        return f"<{len(self.sent)}@test>"


def _enqueue(db: Any, now: datetime, **kwargs: Any) -> OutboxMessage:
    row = outbox.enqueue(
        kind="test",
        to_address="a@example.org",
        subject="Hello",
        body_text="Body",
        due_at=kwargs.pop("due_at", now),
        **kwargs,
    )
    db.session.commit()
    return row


def test_due_message_is_sent_once_and_future_one_waits(db: Any, now: datetime) -> None:
    _enqueue(db, now)
    _enqueue(db, now, due_at=now + timedelta(hours=1))
    mailer = RecordingMailer()
    assert outbox.dispatch_due(mailer=mailer, now=now).sent == 1
    assert outbox.dispatch_due(mailer=mailer, now=now).sent == 0
    assert len(mailer.sent) == 1
    assert outbox.dispatch_due(mailer=mailer, now=now + timedelta(hours=1)).sent == 1


def test_failure_retries_with_backoff_then_dead_letters(db: Any, now: datetime) -> None:
    row = _enqueue(db, now)
    mailer = RecordingMailer(fail_times=100)
    at = now
    for attempt in range(1, outbox.MAX_ATTEMPTS + 1):
        result = outbox.dispatch_due(mailer=mailer, now=at)
        assert result.claimed == 1
        db.session.expire_all()
        at = db.session.get(OutboxMessage, row.id).due_at
        if attempt < outbox.MAX_ATTEMPTS:
            assert at - (at - outbox.backoff(attempt)) == outbox.backoff(attempt)
    assert db.session.get(OutboxMessage, row.id).status == "dead"
    assert [m.id for m in outbox.list_dead_letters()] == [row.id]
    outbox.retry_dead_letter(message_id=row.id, now=now)
    assert outbox.dispatch_due(mailer=RecordingMailer(), now=now).sent == 1


def test_rows_of_a_dispatcher_that_died_are_taken_over_after_the_lease(
    db: Any, now: datetime
) -> None:
    _enqueue(db, now)
    assert outbox.claim_due(now=now, limit=10, owner="dead-one")  # claimed, never finished
    mailer = RecordingMailer()
    assert outbox.dispatch_due(mailer=mailer, now=now, owner="alive").sent == 0
    later = now + timedelta(seconds=outbox.LEASE_SECONDS + 1)
    assert outbox.dispatch_due(mailer=mailer, now=later, owner="alive").sent == 1


def test_expired_message_is_marked_not_sent(db: Any, now: datetime) -> None:
    _enqueue(db, now - timedelta(hours=2), expires_at=now - timedelta(minutes=1))
    mailer = RecordingMailer()
    assert outbox.dispatch_due(mailer=mailer, now=now).expired == 1
    assert mailer.sent == []
    assert db.session.scalar(select(OutboxMessage.status)) == "expired"


def test_sensitive_bodies_are_scrubbed_after_sending(db: Any, now: datetime) -> None:
    _enqueue(db, now, is_sensitive=True)
    outbox.dispatch_due(mailer=RecordingMailer(), now=now)
    db.session.expire_all()
    assert db.session.scalar(select(OutboxMessage.body_text)) == outbox.CONTENT_REMOVED


def test_a_sweep_stops_at_half_its_lease_and_leaves_the_rest_for_later(
    db: Any, now: datetime, monkeypatch: Any
) -> None:
    for _ in range(3):
        _enqueue(db, now)
    ticks = iter([0.0, 1.0, 100.0, 100.0])  # the deadline, then one send in time, then late
    monkeypatch.setattr(outbox.time, "monotonic", lambda: next(ticks))
    mailer = RecordingMailer()
    result = outbox.dispatch_due(mailer=mailer, now=now, lease_seconds=120)
    assert (result.claimed, result.sent, len(mailer.sent)) == (3, 1, 1)
    monkeypatch.undo()
    # The two left behind are claimed again once their lease has run out, and sent once.
    later = now + timedelta(seconds=121)
    assert outbox.dispatch_due(mailer=mailer, now=later).sent == 2
    assert len(mailer.sent) == 3


class SettingMailer(RecordingMailer):
    """Reads, while a message is handed over, how the sweep's outcome connection commits."""

    def __init__(self, db: Any) -> None:
        super().__init__()
        self.db = db
        self.during: list[str] = []

    def send(self, message: OutgoingMessage) -> str:
        if self.db.engine.dialect.name == "postgresql":
            with self.db.engine.connect() as other:  # the pool's next connection
                self.during.append(str(other.exec_driver_sql("SHOW synchronous_commit").scalar()))
        return super().send(message)


def test_outcomes_skip_the_flush_wait_only_on_their_own_connection(db: Any, now: datetime) -> None:
    """The sweep's outcome UPDATEs commit without waiting for the WAL flush; no pooled
    connection (a booking's, say) ever comes back with that setting."""
    for _ in range(3):
        _enqueue(db, now)
    mailer = SettingMailer(db)
    assert outbox.dispatch_due(mailer=mailer, now=now).sent == 3
    if db.engine.dialect.name != "postgresql":
        return
    assert mailer.during == ["on", "on", "on"]
    seen = set()
    for _ in range(db.engine.pool.size() + 1):
        with db.engine.connect() as connection:
            seen.add(connection.exec_driver_sql("SHOW synchronous_commit").scalar())
    assert seen == {"on"}
    with outbox._outcomes() as via:
        assert via is not None
        assert via.exec_driver_sql("SHOW synchronous_commit").scalar() == "off"


def test_behind_pgbouncer_outcomes_set_nothing_on_the_session(db: Any, now: datetime) -> None:
    """Under transaction pooling a session-level SET would stay on a server connection
    that others get next: through PgBouncer the outcomes commit durably instead."""
    from flask import current_app
    from sqlalchemy import event

    if db.engine.dialect.name != "postgresql":
        return
    current_app.config["DATABASE_POOLER"] = "pgbouncer"
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        for _ in range(2):
            _enqueue(db, now)
        assert outbox.dispatch_due(mailer=RecordingMailer(), now=now).sent == 2
        with outbox._outcomes() as via:
            assert via is not None
            assert via.exec_driver_sql("SHOW synchronous_commit").scalar() == "on"
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert not [s for s in statements if "synchronous_commit =" in s]
    assert any(s.startswith("UPDATE outbox") for s in statements)
