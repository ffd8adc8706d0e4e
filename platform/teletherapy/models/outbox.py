"""The outbox: every outgoing message, written in the same transaction as its cause."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, Index, LargeBinary, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from teletherapy.clock import utcnow
from teletherapy.models.base import Base


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"  # claimed by a dispatcher until lease_until
    SENT = "sent"
    EXPIRED = "expired"  # its moment passed by more than its usefulness
    CANCELLED = "cancelled"  # its cause went away (booking cancelled or moved)
    DEAD = "dead"  # failed too many times; listed for an admin


# What a finished message's body says once its contents were removed (retention).
CONTENT_REMOVED = "[contents removed]"
UNPRUNED_SQL = f"body_text <> '{CONTENT_REMOVED}'"


class OutboxMessage(Base):
    __tablename__ = "outbox_messages"
    __table_args__ = (
        Index("ix_outbox_messages_status_due_at", "status", "due_at"),
        # The retention job's scan (0017_outbox_retention): only rows whose contents are
        # still kept, so each hourly run reads the last 30 days, not every message ever.
        Index(
            "ix_outbox_messages_unpruned_due_at",
            "due_at",
            postgresql_where=text(UNPRUNED_SQL),
            sqlite_where=text(UNPRUNED_SQL),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(16), default="email")
    # Set for messages that must exist at most once (e.g. one reminder per offset).
    dedupe_key: Mapped[str | None] = mapped_column(String(120), unique=True)
    user_id: Mapped[int | None] = mapped_column(index=True)
    booking_id: Mapped[int | None] = mapped_column(index=True)
    to_address: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(200))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text)
    ics: Mapped[bytes | None] = mapped_column(LargeBinary)
    ics_method: Mapped[str | None] = mapped_column(String(16))
    headers: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    # True when the body holds a secret (a reset link) that is scrubbed once sent.
    is_sensitive: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(16), default=OutboxStatus.PENDING.value)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    due_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    lease_until: Mapped[datetime | None]
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    sent_at: Mapped[datetime | None]
    provider_id: Mapped[str | None] = mapped_column(String(200))
    last_error: Mapped[str | None] = mapped_column(String(500))
