"""Read-only transactions end with COMMIT so psycopg keeps its prepared statements
(teletherapy/prepared.py); every transaction that changed anything still rolls back."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, text, update
from sqlalchemy.exc import DataError

from teletherapy import prepared
from teletherapy.models import User
from tests.booking_setup import set_availability

# frozen_now: that module's autouse fixture (the API's clock at the test's `now`), here too.
from tests.web.bookings.test_round_trips import book, frozen_now  # noqa: F401

# One pooled connection, so what the requests prepared is on the connection the test reads.
pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 1, "max_overflow": 0}}


def _prepared_statements(db: Any) -> list[str]:
    with db.engine.connect() as conn:
        return list(conn.execute(text("SELECT statement FROM pg_prepared_statements")).scalars())


def test_refused_bookings_run_the_booking_view_prepared(
    app: Flask,
    db: Any,
    client: FlaskClient,
    make_user: Any,
    api_token: Any,
) -> None:
    tid = set_availability(make_user("therapist"))
    assert book(client, dict(api_token(make_user("client"))), tid).status_code == 201
    loser = dict(api_token(make_user("client")))
    db.session.remove()
    # Each refusal is a request of its own that read, was refused and rolled back.
    assert [book(client, loser, tid).status_code for _ in range(7)] == [409] * 7
    statements = _prepared_statements(db)
    assert any("api_tokens.token_hash" in s for s in statements), statements
    assert any("json_build_object" in s for s in statements), statements  # the view


def test_a_read_only_transaction_rolled_back_keeps_them(app: Flask, db: Any) -> None:
    for _ in range(6):
        db.session.execute(select(User.id).where(User.email == "nobody@example.org"))
        db.session.rollback()
    assert any("users.email" in s for s in _prepared_statements(db))


@pytest.mark.parametrize(
    "write",
    [
        "orm",
        "update",
        "cte",
        "set_config",
    ],
)
def test_a_transaction_that_changed_anything_still_rolls_back(
    app: Flask, db: Any, make_user: Any, write: str
) -> None:
    user = make_user("client", email=f"rollback.{write}@example.org", display_name="Before")
    user_id = user.id
    db.session.remove()
    db.session.execute(select(User.id).where(User.id == user_id))  # a read first
    if write == "orm":
        db.session.get(User, user_id).display_name = "After"  # type: ignore[union-attr]
        db.session.flush()
    elif write == "update":
        db.session.execute(update(User).where(User.id == user_id).values(display_name="After"))
    elif write == "cte":
        db.session.execute(
            text(
                "WITH changed AS (UPDATE users SET display_name = 'After' WHERE id = :id"
                " RETURNING id) SELECT count(*) FROM changed"
            ),
            {"id": user_id},
        )
    else:  # a SELECT whose effect only a COMMIT would keep
        db.session.execute(text("SELECT set_config('application_name', 'After', false)"))
    db.session.rollback()
    name = db.session.scalar(select(User.display_name).where(User.id == user_id))
    setting = db.session.scalar(text("SELECT current_setting('application_name')"))
    assert (name, setting == "After") == ("Before", False)


def test_a_failed_read_rolls_back_and_the_session_goes_on(app: Flask, db: Any) -> None:
    with pytest.raises(DataError):
        db.session.execute(text("SELECT 1 / 0"))
    db.session.rollback()
    assert db.session.scalar(text("SELECT 2")) == 2


def test_the_calendar_lock_of_a_read_only_transaction_is_released(
    app: Flask, db: Any, now: datetime
) -> None:
    db.session.execute(text("SELECT pg_advisory_xact_lock(424242)"))
    db.session.rollback()
    with db.engine.connect() as conn:  # the same (only) connection, in a new transaction
        assert conn.execute(text("SELECT pg_try_advisory_xact_lock(424242)")).scalar()


@pytest.mark.parametrize(
    ("statement", "reads"),
    [
        ("SELECT users.id FROM users", True),
        ("  select 1", True),
        ("SELECT pg_advisory_xact_lock(1)", True),
        ("SELECT set_config('x.y', '1', false)", False),
        ("SELECT pg_notify('c', 'x')", False),
        ("WITH x AS (DELETE FROM users RETURNING id) SELECT * FROM x", False),
        ("UPDATE users SET status = 'active'", False),
        ("INSERT INTO users DEFAULT VALUES", False),
        ("SAVEPOINT sa_savepoint_1", False),
        ("SET LOCAL synchronous_commit = off", False),
    ],
)
def test_what_counts_as_only_reading(database_url: str, statement: str, reads: bool) -> None:
    assert prepared.only_reads(statement, None) is reads
