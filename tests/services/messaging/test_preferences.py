"""Notification preferences: read once per transaction, never stale after a change."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, update

from teletherapy.models import NotificationPreference
from teletherapy.services.messaging.preferences import get_preferences, update_preferences


def test_preferences_are_read_once_per_transaction_and_fresh_after_a_change(
    db: Any, make_user: Any
) -> None:
    person = make_user("client")
    db.session.commit()
    reads: list[str] = []

    def count(*args: Any) -> None:
        if "FROM notification_preferences" in args[2]:
            reads.append(args[2])

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        assert get_preferences(person).calendar_detail == "discreet"  # no row: the default
        assert get_preferences(person).calendar_detail == "discreet"
        assert len(reads) == 1  # a person without a row is not asked for again
        # Changed through the service in this transaction: seen at once.
        update_preferences(user_id=person.id, calendar_detail="named")
        assert get_preferences(person).calendar_detail == "named"
        # Changed by someone else and committed: the next transaction reads it again.
        db.session.execute(
            update(NotificationPreference)
            .where(NotificationPreference.user_id == person.id)
            .values(calendar_detail="initials")
        )
        db.session.commit()
        assert get_preferences(person).calendar_detail == "initials"
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
