"""The audit log: record who viewed or exported whose data, and list those entries.

`record_event` only adds a row to the caller's transaction (the caller commits with
the change or view it records); the table refuses UPDATE and DELETE. Entries name
people, actions and resources by id, never clinical content.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from teletherapy.extensions import db
from teletherapy.models import AuditEvent


def record_event(
    *,
    actor_id: int | None,
    subject_user_id: int | None,
    action: str,
    resource_type: str,
    resource_id: int | str | None,
    now: datetime,
) -> AuditEvent:
    """Add one entry to the caller's transaction (not committed here)."""
    event = AuditEvent(
        at=now,
        actor_user_id=actor_id,
        subject_user_id=subject_user_id,
        action=action,
        resource_type=resource_type,
        resource_id=None if resource_id is None else str(resource_id),
    )
    db.session.add(event)
    return event


def list_events(
    *,
    subject_user_id: int | None = None,
    actor_user_id: int | None = None,
    action: str | None = None,
    resource_type: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 500,
) -> list[AuditEvent]:
    """Entries matching every given filter, newest first (`until` excluded)."""
    query = select(AuditEvent)
    if subject_user_id is not None:
        query = query.where(AuditEvent.subject_user_id == subject_user_id)
    if actor_user_id is not None:
        query = query.where(AuditEvent.actor_user_id == actor_user_id)
    if action is not None:
        query = query.where(AuditEvent.action == action)
    if resource_type is not None:
        query = query.where(AuditEvent.resource_type == resource_type)
    if since is not None:
        query = query.where(AuditEvent.at >= since)
    if until is not None:
        query = query.where(AuditEvent.at < until)
    query = query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(limit)
    return list(db.session.scalars(query))
