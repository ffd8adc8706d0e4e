"""Rows written by value: a booking's prepared calendar entry, notices and reminders.

Composed before the therapist's calendar is locked (`notifications.
prepare_booking_confirmed`), they are inserted under it with Core, one statement per
table and set of columns, instead of through the unit of work: nothing in the booking's
transaction reads them back, and the ORM's flush of them (state kept per object, ids read
back) was a tenth of a winning booking's instructions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Table, insert
from sqlalchemy import inspect as sa_inspect

from teletherapy.extensions import db


def insert_by_value(rows: Sequence[Any]) -> None:
    """Insert ORM rows that are in no session, as they are. A nullable column without a
    default is written NULL when unset (as the ORM writes it), so the rows of one table
    share one statement; a column with a default takes it. What they refer to must
    already be flushed."""
    batches: dict[tuple[Table, tuple[str, ...]], list[dict[str, Any]]] = {}
    for row in rows:
        model = type(row)
        table, columns, as_none = _COLUMNS.get(model) or _COLUMNS.setdefault(model, _columns(model))
        values = {
            key: row.__dict__.get(key) for key in columns if key in row.__dict__ or key in as_none
        }
        batches.setdefault((table, tuple(values)), []).append(values)
    for (table, _), batch in batches.items():
        db.session.execute(insert(table), batch)


# Each model's table, columns and the nullable ones without a default: read on first use,
# not at import (inspecting a mapper sets up every mapper).
_COLUMNS: dict[type[Any], tuple[Table, tuple[str, ...], frozenset[str]]] = {}


def _columns(model: type[Any]) -> tuple[Table, tuple[str, ...], frozenset[str]]:
    mapper = sa_inspect(model)
    columns = {attribute.key: attribute.columns[0] for attribute in mapper.column_attrs}
    if any(key != column.key for key, column in columns.items()):
        raise TypeError(f"{model.__name__}: an attribute named unlike its column")
    as_none = {
        key
        for key, column in columns.items()
        if column.nullable
        and not column.primary_key
        and column.default is None
        and column.server_default is None
    }
    return cast(Table, mapper.local_table), tuple(columns), frozenset(as_none)
