"""teletherapy/warm_booking.py: a worker books once at its start and leaves nothing behind."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import text

from teletherapy.extensions import db, limiter
from teletherapy.warm_booking import warm_booking
from tests.conftest import _truncate_all


@pytest.fixture
def database_url(request: pytest.FixtureRequest) -> str:
    """PostgreSQL only: SQLite workers skip the booking warm-up."""
    url: str = request.getfixturevalue("postgres_url")
    _truncate_all(url)
    return url


def _row_counts() -> dict[str, int]:
    counts = {}
    for table in db.metadata.sorted_tables:
        counts[table.name] = db.session.scalar(text(f"SELECT count(*) FROM {table.name}"))
    db.session.rollback()
    return counts


def test_the_warm_up_books_and_is_refused_through_the_api_and_leaves_no_row(
    app: Flask, db: Any, make_user: Any
) -> None:
    from teletherapy.demo.seed import seed_demo

    seed_demo(therapists=3, clients=2, seed=5)
    db.session.commit()
    before = _row_counts()
    enabled = limiter.enabled
    assert warm_booking(app) is True  # 201 for the first client, 409 for the second
    assert limiter.enabled == enabled
    assert _row_counts() == before
    # The app's own session is back: what it writes now is kept.
    user = make_user("client")
    db.session.remove()
    assert db.session.scalar(text("SELECT count(*) FROM users WHERE id = :i"), {"i": user.id})


def test_a_failing_warm_up_is_logged_and_rolled_back(
    app: Flask, db: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import teletherapy.warm_booking as warm

    def half_done(*_: Any) -> bool:
        with app.app_context():  # as the warm-up's own steps run
            _write_and_commit()
        raise RuntimeError("boom")

    def _write_and_commit() -> None:
        db.session.execute(
            text(
                "INSERT INTO fee_bands (code, label, min_cents, max_cents, sort_order)"
                " VALUES ('zz', 'x', 0, 1, 99)"
            )
        )
        db.session.commit()

    before = _row_counts()
    monkeypatch.setattr(warm, "_book_twice", half_done)
    assert warm_booking(app) is False
    assert "booking warm-up failed" in caplog.text
    assert _row_counts() == before


def test_sqlite_workers_skip_it(tmp_path: Any) -> None:
    from teletherapy import create_app

    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.sqlite3'}", "SECRET_KEY": "t"},
        instance_path=tmp_path,
    )
    assert warm_booking(app) is False


def test_a_database_out_of_reach_leaves_the_worker_serving(
    app: Flask, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from sqlalchemy.engine import Engine

    def refuse(*_: Any, **__: Any) -> Any:
        raise OSError("connection refused")

    monkeypatch.setattr(Engine, "connect", refuse)
    assert warm_booking(app) is False
    assert "could not connect" in caplog.text
