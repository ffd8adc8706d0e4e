"""The audit log: rows are written with the caller's commit, listed by filter, never changed."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import delete, text, update
from sqlalchemy.exc import DatabaseError

from teletherapy.models import AuditEvent
from teletherapy.services.audit import list_events, record_event


def test_events_are_written_in_the_callers_transaction(db: Any, now: Any) -> None:
    record_event(
        actor_id=1, subject_user_id=2, action="screening.view", resource_type="screening",
        resource_id=5, now=now,
    )  # fmt: skip
    db.session.rollback()
    assert list_events() == []
    record_event(
        actor_id=1, subject_user_id=2, action="screening.view", resource_type="screening",
        resource_id=5, now=now,
    )  # fmt: skip
    db.session.commit()
    [event] = list_events()
    assert (event.actor_user_id, event.subject_user_id, event.action) == (1, 2, "screening.view")
    assert (event.resource_type, event.resource_id, event.at) == ("screening", "5", now)


def test_list_events_filters_and_orders_newest_first(db: Any, now: Any) -> None:
    for minutes, actor, subject, action in [
        (0, 1, 2, "screening.view"),
        (1, 3, 2, "screening.export_fhir"),
        (2, 1, 4, "screening.view"),
    ]:
        record_event(
            actor_id=actor, subject_user_id=subject, action=action, resource_type="screening",
            resource_id=None, now=now + timedelta(minutes=minutes),
        )  # fmt: skip
    db.session.commit()
    assert [e.actor_user_id for e in list_events(subject_user_id=2)] == [3, 1]
    assert [e.subject_user_id for e in list_events(actor_user_id=1)] == [4, 2]
    assert len(list_events(action="screening.view", resource_type="screening")) == 2
    assert len(list_events(since=now + timedelta(minutes=1))) == 2
    assert len(list_events(until=now + timedelta(minutes=1))) == 1
    assert len(list_events(limit=1)) == 1


def _one_event(db: Any, now: Any) -> int:
    event = record_event(
        actor_id=1, subject_user_id=2, action="screening.view", resource_type="screening",
        resource_id=5, now=now,
    )  # fmt: skip
    db.session.commit()
    return event.id


def test_the_database_refuses_to_update_an_entry(db: Any, now: Any) -> None:
    event_id = _one_event(db, now)
    with pytest.raises(DatabaseError, match="append-only"):
        db.session.execute(
            update(AuditEvent).where(AuditEvent.id == event_id).values(action="screening.none")
        )
        db.session.flush()
    db.session.rollback()
    assert list_events()[0].action == "screening.view"


def test_the_database_refuses_to_delete_an_entry(db: Any, now: Any) -> None:
    _one_event(db, now)
    with pytest.raises(DatabaseError, match="append-only"):
        db.session.execute(delete(AuditEvent))
    db.session.rollback()
    with pytest.raises(DatabaseError, match="append-only"):
        db.session.execute(text("DELETE FROM audit_events"))
    db.session.rollback()
    assert len(list_events()) == 1
