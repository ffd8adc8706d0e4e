"""Read routing without a replica (the default), and the settings it refuses."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from teletherapy import create_app
from teletherapy.extensions import db
from teletherapy.models import User
from teletherapy.replica import parse_lsn, reads_may_lag
from teletherapy.settings import ConfigurationError


def test_without_a_replica_url_every_read_stays_on_the_one_database(tmp_path: Path) -> None:
    app = create_app({"TESTING": True}, instance_path=tmp_path)
    assert "replica" not in app.extensions
    with app.app_context(), reads_may_lag() as scope:
        assert db.session.get_bind(clause=select(User)) is db.engine
        assert not scope.used_replica


def test_a_replica_needs_postgresql_on_both_sides(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="PostgreSQL"):
        create_app(
            {"TESTING": True, "DATABASE_REPLICA_URL": "postgresql://127.0.0.1:1/x"},
            instance_path=tmp_path,
        )


@pytest.mark.parametrize(
    ("lsn", "value"),
    [
        ("0/0", 0),
        ("0/16B3748", 0x16B3748),
        ("1/0", 1 << 32),
        ("16/B374D848", (0x16 << 32) + 0xB374D848),
    ],
)
def test_wal_positions_order_like_numbers(lsn: str, value: int) -> None:
    assert parse_lsn(lsn) == value


def test_the_replica_gets_its_own_short_connect_timeout(tmp_path: Path) -> None:
    from sqlalchemy import event
    from sqlalchemy.exc import OperationalError

    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": "postgresql://postgres@127.0.0.1:9/primary",
            "DATABASE_REPLICA_URL": "postgresql://postgres@127.0.0.1:9/replica",
            "DATABASE_CONNECT_TIMEOUT_SECONDS": 7,
            "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 2, "max_overflow": 1},
        },
        instance_path=tmp_path,
    )
    engine = app.extensions["replica"].engine
    seen: dict[str, object] = {}

    @event.listens_for(engine, "do_connect")
    def capture(
        _dialect: object, _record: object, _args: object, kwargs: dict[str, object]
    ) -> None:
        seen.update(kwargs)

    with pytest.raises(OperationalError):
        engine.connect()
    assert seen["connect_timeout"] == 2 and "statement_timeout" in str(seen["options"])
    assert engine.pool.size() == 2  # the same pool sizing as the primary's
