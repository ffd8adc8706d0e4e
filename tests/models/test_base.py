"""UTCDateTime gives the same aware UTC instants on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import select

from teletherapy.models import OutboxMessage


def test_instants_come_back_aware_in_utc_whatever_offset_went_in(db: Any) -> None:
    eastern = timezone(timedelta(hours=-5))
    row = OutboxMessage(
        kind="t",
        to_address="a@example.org",
        subject="s",
        body_text="b",
        due_at=datetime(2026, 3, 8, 1, 30, tzinfo=eastern),
        headers={},
    )
    db.session.add(row)
    db.session.commit()
    db.session.expire_all()
    loaded = db.session.scalar(select(OutboxMessage))
    assert loaded.due_at == datetime(2026, 3, 8, 6, 30, tzinfo=UTC)
    assert loaded.due_at.utcoffset() == timedelta(0)
    assert loaded.created_at.tzinfo is not None


def test_comparisons_in_sql_use_utc(db: Any) -> None:
    for hour in (1, 2, 3):
        db.session.add(
            OutboxMessage(
                kind="t",
                to_address="a@example.org",
                subject="s",
                body_text="b",
                headers={},
                due_at=datetime(2026, 11, 1, hour, tzinfo=UTC),
            )
        )
    db.session.commit()
    cutoff = datetime(2026, 10, 31, 22, 0, tzinfo=timezone(timedelta(hours=-4)))  # 02:00Z
    found = db.session.scalars(select(OutboxMessage.due_at).where(OutboxMessage.due_at <= cutoff))
    assert sorted(found) == [
        datetime(2026, 11, 1, 1, tzinfo=UTC),
        datetime(2026, 11, 1, 2, tzinfo=UTC),
    ]


def test_naive_datetimes_are_refused(db: Any) -> None:
    db.session.add(
        OutboxMessage(
            kind="t",
            to_address="a@example.org",
            subject="s",
            body_text="b",
            headers={},
            due_at=datetime(2026, 1, 1, 12, 0),
        )
    )
    with pytest.raises(Exception, match="naive datetime"):
        db.session.commit()
    db.session.rollback()


def test_postgresql_sessions_run_in_utc_so_instants_need_no_conversion(postgres_url: str) -> None:
    """Every PostgreSQL connection sets TimeZone=UTC: instants arrive as UTC already (the
    type's fast path), and SQL date arithmetic does not depend on the server's default.
    JIT is off (compiling cost more than running matching's queries at scale)."""
    from sqlalchemy import create_engine

    from teletherapy.settings import DEFAULTS, engine_options

    engine = create_engine(
        postgres_url, **engine_options({**DEFAULTS, "SQLALCHEMY_DATABASE_URI": postgres_url})
    )
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("SHOW TimeZone").scalar() == "UTC"
            assert connection.exec_driver_sql("SELECT now()").scalar().tzinfo is UTC
            assert connection.exec_driver_sql("SHOW jit").scalar() == "off"
    finally:
        engine.dispose()
