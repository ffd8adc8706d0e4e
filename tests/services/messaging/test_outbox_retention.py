"""What finished messages said is removed after outbox.CONTENT_DAYS; the rows stay."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from teletherapy.models import OutboxMessage, OutboxStatus
from teletherapy.services.messaging import outbox

OLD = timedelta(days=outbox.CONTENT_DAYS + 1)
RECENT = timedelta(days=outbox.CONTENT_DAYS - 1)


def _message(db: Any, name: str, status: str, *, due: datetime, sent: datetime | None) -> int:
    row = outbox.enqueue(
        kind="booking_confirmed",
        to_address="ana@example.org",
        subject=name,
        body_text=f"Dear Ana, see {name}",
        body_html=f"<p>Dear Ana, see {name}</p>",
        ics=b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n",
        ics_method="REQUEST",
        due_at=due,
        dedupe_key=f"key-{name}",
    )
    row.status, row.sent_at = status, sent
    db.session.commit()
    return row.id


def _contents(db: Any) -> dict[str, tuple[str, str | None, bytes | None, str | None]]:
    db.session.expire_all()
    rows = db.session.scalars(select(OutboxMessage)).all()
    return {r.subject: (r.body_text, r.body_html, r.ics, r.dedupe_key) for r in rows}


def test_contents_of_long_finished_messages_go_and_everything_else_stays(
    db: Any, now: datetime
) -> None:
    sent, cancelled, expired = (
        OutboxStatus.SENT.value,
        OutboxStatus.CANCELLED.value,
        OutboxStatus.EXPIRED.value,
    )
    _message(db, "old-sent", sent, due=now - OLD, sent=now - OLD)
    _message(db, "old-cancelled", cancelled, due=now - OLD, sent=None)
    _message(db, "old-expired", expired, due=now - OLD, sent=None)
    _message(db, "recent-sent", sent, due=now - OLD, sent=now - RECENT)  # sent late
    _message(db, "cancelled-future", cancelled, due=now + OLD, sent=None)
    _message(db, "old-pending", OutboxStatus.PENDING.value, due=now - OLD, sent=None)
    _message(db, "old-dead", OutboxStatus.DEAD.value, due=now - OLD, sent=None)

    assert outbox.prune_contents(now=now, batch=2) == 3  # batches of 2: both rounds run
    contents = _contents(db)
    for name in ("old-sent", "old-cancelled", "old-expired"):
        assert contents[name] == (outbox.CONTENT_REMOVED, None, None, f"key-{name}")
    for name in ("recent-sent", "cancelled-future", "old-pending", "old-dead"):
        assert contents[name][0] == f"Dear Ana, see {name}"
        assert contents[name][2] is not None
    # Nothing left to do: a second run touches nothing.
    assert outbox.prune_contents(now=now) == 0
