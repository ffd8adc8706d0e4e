"""Commands: seed-demo (deterministic, refused in production) and create-user."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import func, select

from teletherapy import create_app
from teletherapy.models import TherapistProfile, User


def _snapshot(db: Any) -> list[tuple[str, str, str | None, str | None]]:
    return [
        tuple(r)
        for r in db.session.execute(
            select(User.email, User.display_name, User.state, User.zip).order_by(User.email)
        )
    ]


def test_seed_demo_creates_the_design_accounts(app: Flask, db: Any) -> None:
    result = app.test_cli_runner().invoke(
        args=["seed-demo", "--therapists", "12", "--clients", "15", "--seed", "3"]
    )
    assert result.exit_code == 0, result.output
    assert "Seeded 12 therapists and 15 clients" in result.output
    therapist1 = db.session.scalar(select(User).where(User.email == "therapist1@demo.test"))
    assert therapist1.role == "therapist" and therapist1.state == "NY"
    for i in range(1, 11):
        client = db.session.scalar(select(User).where(User.email == f"client{i}@demo.test"))
        assert client.state == "NY" and client.zip.startswith(("10", "11"))
    assert db.session.scalar(select(func.count()).select_from(TherapistProfile)) == 12
    from teletherapy.clock import utcnow
    from teletherapy.services.accounts.users import authenticate

    assert authenticate(email="client1@demo.test", password="demo-pass-123", now=utcnow())
    from teletherapy.models import Booking

    statuses = db.session.scalars(
        select(Booking.status).where(Booking.client_id == client.id)  # client10
    ).all()
    assert sorted(set(statuses)) == ["completed", "confirmed"]


def test_seed_demo_is_deterministic(tmp_path: Path, sqlite_template: Path) -> None:
    snapshots = []
    for name in ("a", "b"):
        path = tmp_path / f"{name}.sqlite3"
        path.write_bytes(sqlite_template.read_bytes())
        app = create_app(
            {"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}"},
            instance_path=tmp_path / name,
        )
        with app.app_context():
            from teletherapy.extensions import db

            app.test_cli_runner().invoke(
                args=["seed-demo", "--therapists", "30", "--clients", "20", "--seed", "7"]
            )
            snapshots.append(_snapshot(db))
            db.engine.dispose()
    assert snapshots[0] == snapshots[1]


def test_seed_demo_with_if_empty_does_nothing_twice(app: Flask) -> None:
    runner = app.test_cli_runner()
    runner.invoke(args=["seed-demo", "--therapists", "2", "--clients", "2", "--if-empty"])
    result = runner.invoke(args=["seed-demo", "--therapists", "2", "--clients", "2", "--if-empty"])
    assert "already present" in result.output


def test_seed_demo_is_refused_in_production(tmp_path: Path) -> None:
    app = create_app(
        {
            "ENV": "production",
            "SECRET_KEY": "x" * 40,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'p.db'}",
            "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0",  # production requires one
        },
        instance_path=tmp_path,
    )
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code != 0 and "refused" in result.output


def test_create_user_command(app: Flask, db: Any) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=[
            "create-user",
            "--role",
            "therapist",
            "--email",
            "Dr.Who@Example.org",
            "--password",
            "long-password-1",
        ]
    )
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User).where(User.email == "dr.who@example.org"))
    assert user.role == "therapist" and user.therapist is not None
    bad = runner.invoke(
        args=["create-user", "--role", "client", "--email", "x@example.org", "--password", "short"]
    )
    assert bad.exit_code != 0 and "at least 12" in bad.output
