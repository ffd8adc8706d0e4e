"""Declarative base with a constraint naming convention, and the UTCDateTime type."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any, NamedTuple, cast

from sqlalchemy import DateTime, MetaData, Table
from sqlalchemy import Enum as SAEnum
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, registry
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """An instant: stored as UTC, always returned timezone-aware in UTC.

    SQLite has no time zones and SQLAlchemy drops offsets silently there, so we
    convert to naive UTC on the way in and re-attach UTC on the way out. On
    PostgreSQL the column is `timestamptz`. Naive input is a bug and is refused.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("naive datetime given for a UTCDateTime column")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None or value.tzinfo is UTC:  # PostgreSQL sessions are in UTC (settings)
            return value
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


_TYPE_MAP: dict[Any, Any] = {datetime: UTCDateTime()}


class Base(DeclarativeBase):
    # Every `Mapped[datetime]` is a UTCDateTime column.
    registry = registry(
        metadata=MetaData(naming_convention=NAMING_CONVENTION), type_annotation_map=_TYPE_MAP
    )


def status_column_type(enum_class: type[enum.StrEnum], length: int) -> SAEnum:
    """A status column typed with the domain's enum, stored as the same plain strings
    (VARCHAR of `length`, no database enum type and no CHECK: no migration needed)."""
    return SAEnum(
        enum_class,
        native_enum=False,
        create_constraint=False,
        length=length,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


class WrittenColumns(NamedTuple):
    """A model's table, its column attributes, and those a new row written without a value
    holds NULL in (nullable, not a key, no default of any kind: an INSERT by the ORM writes
    NULL there, and nothing is fetched back)."""

    table: Table
    keys: tuple[str, ...]
    null_when_unset: frozenset[str]


_WRITTEN: dict[type[Any], WrittenColumns] = {}


def written_columns(model: type[Any]) -> WrittenColumns:
    """Read on first use, not at import: inspecting a mapper sets up every mapper."""
    found = _WRITTEN.get(model)
    if found is None:
        mapper = sa_inspect(model)
        columns = {attribute.key: attribute.columns[0] for attribute in mapper.column_attrs}
        if any(key != column.key for key, column in columns.items()):
            raise TypeError(f"{model.__name__}: an attribute named unlike its column")
        null = {
            key
            for key, column in columns.items()
            if column.nullable
            and not column.primary_key
            and column.default is None
            and column.server_default is None
        }
        found = _WRITTEN[model] = WrittenColumns(
            cast(Table, mapper.local_table), tuple(columns), frozenset(null)
        )
    return found
