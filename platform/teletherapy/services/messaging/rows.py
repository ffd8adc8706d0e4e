"""Rows written by value: a booking's prepared calendar entry, notices and reminders.

Composed before the therapist's calendar is locked (`notifications.
prepare_booking_confirmed`), they are inserted under it with Core, one statement per
table and set of columns, instead of through the unit of work: nothing in the booking's
transaction reads them back, and the ORM's flush of them (state kept per object, ids read
back) was a tenth of a winning booking's instructions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, insert

from teletherapy.extensions import db
from teletherapy.models.base import written_columns


def insert_by_value(rows: Sequence[Any]) -> None:
    """Insert ORM rows that are in no session, as they are. A nullable column without a
    default is written NULL when unset (as the ORM writes it), so the rows of one table
    share one statement; a column with a default takes it. What they refer to must
    already be flushed."""
    batches: dict[tuple[Table, tuple[str, ...]], list[dict[str, Any]]] = {}
    for row in rows:
        table, keys, null = written_columns(type(row))
        values = {key: row.__dict__.get(key) for key in keys if key in row.__dict__ or key in null}
        batches.setdefault((table, tuple(values)), []).append(values)
    for (table, _), batch in batches.items():
        db.session.execute(insert(table), batch)
