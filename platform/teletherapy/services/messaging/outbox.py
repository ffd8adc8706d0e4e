"""The outbox sweep: claim due messages, send them once, retry with backoff, dead-letter."""

from __future__ import annotations

import contextlib
import functools
import logging
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NotRequired, TypedDict, Unpack

from flask import current_app
from sqlalchemy import Connection, Update, bindparam, or_, select, text, update

from teletherapy.domain.booking import BookingStatus
from teletherapy.domain.reminders import MAX_ATTEMPTS, backoff
from teletherapy.extensions import db
from teletherapy.gateways.mail import Mailer, OutgoingMessage
from teletherapy.models import Booking, OutboxMessage, OutboxStatus
from teletherapy.models.outbox import CONTENT_REMOVED, UNPRUNED_SQL
from teletherapy.settings import behind_pgbouncer

logger = logging.getLogger(__name__)

LEASE_SECONDS = 120


@dataclass(frozen=True)
class SweepResult:
    claimed: int = 0
    sent: int = 0
    failed: int = 0
    expired: int = 0
    dead: int = 0
    cancelled: int = 0


class MessageFields(TypedDict):
    """What a message is made of (`message`, `enqueue`)."""

    kind: str
    to_address: str
    subject: str
    body_text: str
    due_at: datetime
    body_html: NotRequired[str | None]
    user_id: NotRequired[int | None]
    booking_id: NotRequired[int | None]
    ics: NotRequired[bytes | None]
    ics_method: NotRequired[str | None]
    expires_at: NotRequired[datetime | None]
    dedupe_key: NotRequired[str | None]
    is_sensitive: NotRequired[bool]


def enqueue(**fields: Unpack[MessageFields]) -> OutboxMessage:
    """Add a message to the caller's transaction; the caller commits with its change."""
    row = message(**fields)
    db.session.add(row)
    return row


def message(**fields: Unpack[MessageFields]) -> OutboxMessage:
    """A pending message, not yet in any transaction (`enqueue` adds it to the caller's);
    fields left out take the columns' defaults (none, not sensitive)."""
    return OutboxMessage(**fields, status=OutboxStatus.PENDING.value, headers={})


def _rowcount(result: Any) -> int:
    """Rows matched by an UPDATE (CursorResult.rowcount; typed loosely by SQLAlchemy)."""
    return int(result.rowcount)


def claim_due(
    *, now: datetime, limit: int, owner: str, lease_seconds: int = LEASE_SECONDS
) -> list[int]:
    """Claim due rows under a lease; rows of a dead dispatcher come back when it expires."""
    due = or_(
        (OutboxMessage.status == OutboxStatus.PENDING.value) & (OutboxMessage.due_at <= now),
        (OutboxMessage.status == OutboxStatus.SENDING.value) & (OutboxMessage.lease_until < now),
    )
    query = select(OutboxMessage.id).where(due).order_by(OutboxMessage.due_at).limit(limit)
    if db.engine.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    ids = list(db.session.scalars(query))
    if not ids:
        db.session.rollback()
        return []
    # The conditional update is the claim on every database: a row another
    # dispatcher took in between no longer matches `due` and is not ours.
    result = db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(ids), due)
        .values(
            status=OutboxStatus.SENDING.value,
            lease_until=now + timedelta(seconds=lease_seconds),
            lease_owner=owner,
            attempts=OutboxMessage.attempts + 1,
        )
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    if _rowcount(result) != len(ids):
        return list(
            db.session.scalars(
                select(OutboxMessage.id).where(
                    OutboxMessage.id.in_(ids),
                    OutboxMessage.lease_owner == owner,
                    OutboxMessage.status == OutboxStatus.SENDING.value,
                )
            )
        )
    return ids


@functools.lru_cache(maxsize=16)
def _finish_statement(names: tuple[str, ...]) -> Update:
    """The outcome UPDATE for these columns, built once (building the statement cost more
    than sending it); values come as bound parameters."""
    return (
        update(OutboxMessage)
        .where(
            OutboxMessage.id == bindparam("message_id"),
            OutboxMessage.status == OutboxStatus.SENDING.value,
            OutboxMessage.lease_owner == bindparam("owner"),
        )
        .values(lease_until=None, **{name: bindparam(f"new_{name}") for name in names})
        .execution_options(synchronize_session=False)
    )


def _finish(message_id: int, owner: str, via: Connection | None = None, **values: object) -> bool:
    """Record an outcome only if we still hold the lease, committed on its own (`via`: an
    autocommit connection, one round trip instead of BEGIN, UPDATE and COMMIT)."""
    statement = _finish_statement(tuple(sorted(values)))
    params = {"message_id": message_id, "owner": owner}
    params.update({f"new_{name}": value for name, value in values.items()})
    if via is not None:
        return bool(_rowcount(via.execute(statement, params)))
    result = db.session.execute(statement, params)
    db.session.commit()
    return bool(_rowcount(result))


@contextlib.contextmanager
def _outcomes() -> Iterator[Connection | None]:
    """On PostgreSQL, one autocommit connection for a sweep's outcomes: each UPDATE is its
    own transaction, one round trip each. Elsewhere: the session.

    The outcomes commit without waiting for their WAL flush (`synchronous_commit = off`,
    for this connection only): a crashed dispatcher still repeats at most the message it
    was handing over; a crash of the database server itself may forget the last fraction
    of a second of outcomes (3 x wal_writer_delay at most), and those messages go out
    again. Nothing is ever lost either way; waiting for the flush cost ~7 ms per message
    here, more than building and handing the message over."""
    if db.engine.dialect.name != "postgresql":
        yield None
        return
    # Behind PgBouncer (transaction pooling) a session-level SET would land on one server
    # connection, stay there for whoever gets it next, and miss the UPDATEs run on others:
    # there outcomes stay durable (the topology connects dispatchers directly).
    relaxed = not behind_pgbouncer(current_app.config)
    with db.engine.connect() as connection:
        connection = connection.execution_options(isolation_level="AUTOCOMMIT")
        if relaxed:
            connection.exec_driver_sql("SET synchronous_commit = off")
        try:
            yield connection
        finally:
            if relaxed:
                with contextlib.suppress(Exception):  # a broken connection is discarded
                    connection.exec_driver_sql("RESET synchronous_commit")


def _causes_gone(rows: list[OutboxMessage]) -> set[int]:
    """Reminders whose booking is no longer confirmed must not go out (checked at send
    time, for the whole batch in one query)."""
    booking_ids = {r.booking_id for r in rows if r.kind == "reminder" and r.booking_id is not None}
    if not booking_ids:
        return set()
    confirmed = set(
        db.session.scalars(
            select(Booking.id).where(
                Booking.id.in_(booking_ids), Booking.status == BookingStatus.CONFIRMED
            )
        )
    )
    return {
        r.id
        for r in rows
        if r.kind == "reminder" and r.booking_id is not None and r.booking_id not in confirmed
    }


def dispatch_due(
    *,
    mailer: Mailer,
    now: datetime,
    limit: int = 100,
    owner: str | None = None,
    lease_seconds: int = LEASE_SECONDS,
) -> SweepResult:
    """One sweep: claim, read the claimed rows and their bookings once, then send each
    message (on one SMTP connection when the mailer can) and record its outcome in its
    own commit, so a crash can repeat at most the message being handed over."""
    owner = owner or uuid.uuid4().hex
    ids = claim_due(now=now, limit=limit, owner=owner, lease_seconds=lease_seconds)
    sent = failed = expired = dead = cancelled = 0
    rows = (
        list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(ids))))
        if ids
        else []
    )
    rows.sort(key=lambda r: (r.due_at, r.id))
    gone = _causes_gone(rows)
    work: list[tuple[int, int, bool, OutgoingMessage]] = []
    for row in rows:
        if row.expires_at is not None and row.expires_at <= now:
            _finish(row.id, owner, status=OutboxStatus.EXPIRED.value)
            expired += 1
            continue
        if row.id in gone:
            _finish(row.id, owner, status=OutboxStatus.CANCELLED.value, dedupe_key=None)
            cancelled += 1
            continue
        message = OutgoingMessage(
            to=row.to_address,
            subject=row.subject,
            text=row.body_text,
            html=row.body_html,
            ics=row.ics,
            ics_method=row.ics_method,
            headers=dict(row.headers or {}),
        )
        work.append((row.id, row.attempts, row.is_sensitive, message))
    for row in rows:  # else every commit below expires every row of the batch again
        db.session.expunge(row)
    db.session.rollback()  # no transaction held across the SMTP hand-offs
    batch = getattr(mailer, "batch", None)
    # Stop handing over well before the lease ends: a message sent after another
    # dispatcher re-claimed it would go out twice. What is left returns after the lease.
    deadline = time.monotonic() + lease_seconds / 2
    with _outcomes() as via, batch() if callable(batch) else contextlib.nullcontext():
        for message_id, attempts, is_sensitive, message in work:
            if time.monotonic() > deadline:
                logger.warning("outbox sweep stopped at the lease's half-life; rest later")
                break
            try:
                provider_id = mailer.send(message)
            except Exception as exc:  # any failure of the peer is retried, never lost
                logger.warning(
                    "outbox message id=%s failed attempt=%s: %s",
                    message_id,
                    attempts,
                    type(exc).__name__,
                )
                # A permanent refusal (unknown recipient) will not improve with retries.
                if attempts >= MAX_ATTEMPTS or getattr(exc, "permanent", False):
                    _finish(
                        message_id,
                        owner,
                        via,
                        status=OutboxStatus.DEAD.value,
                        last_error=f"{type(exc).__name__}: {exc}"[:500],
                    )
                    dead += 1
                else:
                    _finish(
                        message_id,
                        owner,
                        via,
                        status=OutboxStatus.PENDING.value,
                        due_at=now + backoff(attempts),
                        last_error=f"{type(exc).__name__}: {exc}"[:500],
                    )
                    failed += 1
                continue
            values: dict[str, object] = {
                "status": OutboxStatus.SENT.value,
                "sent_at": now,
                "provider_id": provider_id[:200],
            }
            if is_sensitive:
                values.update(body_text=CONTENT_REMOVED, body_html=None)
            _finish(message_id, owner, via, **values)
            sent += 1
    return SweepResult(
        claimed=len(ids),
        sent=sent,
        failed=failed,
        expired=expired,
        dead=dead,
        cancelled=cancelled,
    )


def list_dead_letters(*, limit: int = 200) -> list[OutboxMessage]:
    return list(
        db.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.status == OutboxStatus.DEAD.value)
            .order_by(OutboxMessage.id.desc())
            .limit(limit)
        )
    )


def retry_dead_letter(*, message_id: int, now: datetime) -> None:
    from teletherapy.domain.errors import NotFoundError

    row = db.session.get(OutboxMessage, message_id)
    if row is None or row.status != OutboxStatus.DEAD.value:
        raise NotFoundError("No such dead letter.")
    row.status = OutboxStatus.PENDING.value
    row.attempts = 0
    row.due_at = now
    db.session.commit()


# --------------------------------------------------------------------------- retention

# What a message said is kept this long after it was sent or became moot (cancelled,
# expired), then removed: the row stays (status, times, dedupe key, subject) so the outbox
# still answers "was it sent, and when", but names, links and invites are not kept for
# ever, and the table stops growing by ~7-10 KB per booking (docs/capacity.md).
CONTENT_DAYS = 30
_FINISHED = (OutboxStatus.SENT.value, OutboxStatus.CANCELLED.value, OutboxStatus.EXPIRED.value)


def prune_contents(*, now: datetime, days: int = CONTENT_DAYS, batch: int = 2000) -> int:
    """Remove the bodies and invites of messages finished more than `days` ago.

    Pending, sending and dead messages keep everything (a dead letter may be sent again).
    Works in batches of `batch` rows, each committed, so no transaction stays long.
    """
    cutoff = now - timedelta(days=days)
    done = 0
    while True:
        ids = select(OutboxMessage.id).where(
            OutboxMessage.status.in_(_FINISHED),
            OutboxMessage.due_at < cutoff,
            or_(OutboxMessage.sent_at.is_(None), OutboxMessage.sent_at < cutoff),
            text(UNPRUNED_SQL),  # as written in the partial index, so it serves this scan
        )
        chosen = list(db.session.scalars(ids.limit(batch)))
        if not chosen:
            break
        db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(chosen))
            .values(body_text=CONTENT_REMOVED, body_html=None, ics=None)
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
        done += len(chosen)
        if len(chosen) < batch:
            break
    return done
