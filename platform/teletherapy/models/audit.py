"""The append-only audit log: who did what to whose data, and when (never the data itself).

The database refuses UPDATE and DELETE on this table (a trigger on PostgreSQL and on
SQLite, migration 0009_audit); rows are only ever inserted. Ids are plain integers,
not foreign keys, so an entry outlives the accounts it names.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from teletherapy.models.base import Base


class AuditEvent(Base):
    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_subject_user_id_at", "subject_user_id", "at"),
        Index("ix_audit_events_actor_user_id_at", "actor_user_id", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime]
    # Null for the system itself (a job, the demo seed).
    actor_user_id: Mapped[int | None]
    subject_user_id: Mapped[int | None]
    action: Mapped[str] = mapped_column(String(60))
    resource_type: Mapped[str] = mapped_column(String(40))
    resource_id: Mapped[str | None] = mapped_column(String(64))
