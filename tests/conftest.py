"""Fixtures: an app per test on SQLite and on PostgreSQL, clients, users and sign-in."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from teletherapy import create_app
from teletherapy.extensions import db as _db
from teletherapy.models import User
from tests.peers import peer_missing

PASSWORD = "correct-horse-battery"
BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(autouse=True, scope="session")
def _quick_password_hashing() -> Iterator[None]:
    """argon2id at the library's recommended cost takes 130-150 ms per hash or check here,
    and the suite makes and signs in thousands of users: tests use the same algorithm at
    the lowest cost. `real_password_hashing` puts the production parameters back."""
    from teletherapy.services.accounts import users

    real = users._hasher, users._DUMMY_HASH
    users._hasher = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
    users._DUMMY_HASH = users._hasher.hash("not-a-real-password")
    yield
    users._hasher, users._DUMMY_HASH = real


@pytest.fixture
def real_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    from teletherapy.services.accounts import users

    production = PasswordHasher()
    monkeypatch.setattr(users, "_hasher", production)
    monkeypatch.setattr(users, "_DUMMY_HASH", production.hash("not-a-real-password"))


def _pg_url() -> str | None:
    """TEST_DATABASE_URL; under pytest-xdist each worker gets its own database beside it."""
    url = os.environ.get("TEST_DATABASE_URL")
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not url or not worker:
        return url
    base, _, name = url.rpartition("/")
    own = f"{name}_{worker}"
    admin = create_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": own}
            ).scalar()
            if not exists:
                conn.execute(text(f'CREATE DATABASE "{own}"'))
    except Exception as exc:  # pragma: no cover - environment problem
        peer_missing(f"cannot create the worker database {own}: {exc}")
    finally:
        admin.dispose()
    return f"{base}/{own}"


def _upgrade(url: str, instance: Path) -> None:
    from flask_migrate import upgrade

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url}, instance_path=instance)
    with app.app_context():
        upgrade()
        _db.engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty SQLite database migrated to head once; each test gets a copy."""
    folder = tmp_path_factory.mktemp("sqlite-template")
    path = folder / "template.sqlite3"
    _upgrade(f"sqlite:///{path}", folder)
    return path


@pytest.fixture(scope="session")
def postgres_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """TEST_DATABASE_URL, emptied and migrated to head once per session."""
    url = _pg_url()
    if not url:
        peer_missing("TEST_DATABASE_URL is not set (PostgreSQL tests)")
    from teletherapy.settings import normalise_database_url

    url = normalise_database_url(url)
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    except Exception as exc:  # pragma: no cover - environment problem
        peer_missing(f"PostgreSQL unreachable at TEST_DATABASE_URL: {exc}")
    finally:
        engine.dispose()
    _upgrade(url, tmp_path_factory.mktemp("pg-instance"))
    return url


def _reference_rows() -> dict[str, list[dict[str, Any]]]:
    """Rows the migrations seed (reference data), put back after each truncation."""
    from teletherapy.domain.fees import DEFAULT_FEE_BANDS, DEFAULT_POVERTY_GUIDELINE

    guideline = DEFAULT_POVERTY_GUIDELINE
    return {
        "fee_bands": [
            {
                "code": b.code,
                "label": b.label,
                "min_cents": b.min_cents,
                "max_cents": b.max_cents,
                "max_fpl_percent": b.max_fpl_percent,
                "sort_order": i,
            }
            for i, b in enumerate(DEFAULT_FEE_BANDS, start=1)
        ],
        "poverty_guidelines": [
            {
                "year": guideline.year,
                "first_person_cents": guideline.first_person_cents,
                "each_additional_cents": guideline.each_additional_cents,
            }
        ],
    }


_EMPTYING: dict[str, tuple[Any, str]] = {}


def _truncate_all(url: str) -> None:
    """Empty every table and restart every sequence, then put the reference rows back.

    DELETE in dependency order is 10-40x faster than TRUNCATE on tables this small
    (TRUNCATE makes new files for all 37 tables); only tables whose triggers refuse DELETE
    (the append-only audit log) are truncated. The engine and statement are kept.
    """
    if url not in _EMPTYING:
        engine = create_engine(url, poolclass=NullPool)
        with engine.connect() as conn:
            sequences = conn.execute(
                text("SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'")
            ).scalars()
            restart = [f"SELECT setval('{name}', 1, false)" for name in sequences]
            guarded = set(  # append-only tables refuse DELETE by trigger, not TRUNCATE
                conn.execute(
                    text(
                        "SELECT DISTINCT tgrelid::regclass::text FROM pg_trigger"
                        " WHERE NOT tgisinternal AND (tgtype & 8) <> 0"
                    )
                ).scalars()
            )
        tables = [t.name for t in reversed(_db.metadata.sorted_tables)]
        deletes = [f"DELETE FROM {name}" for name in tables if name not in guarded]
        truncate = [f"TRUNCATE {', '.join(sorted(guarded))}"] if guarded else []
        _EMPTYING[url] = (engine, ";".join(truncate + deletes + restart))
    engine, statement = _EMPTYING[url]
    with engine.begin() as conn:
        conn.exec_driver_sql(statement)
        for name, rows in _reference_rows().items():
            conn.execute(_db.metadata.tables[name].insert(), rows)


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "test.sqlite3"
        shutil.copyfile(template, path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("postgres_url")
    _truncate_all(url)
    return url


@pytest.fixture
def app_config() -> dict[str, Any]:
    """Override in a test module to change settings."""
    return {}


@pytest.fixture
def app(database_url: str, tmp_path: Path, app_config: dict[str, Any]) -> Iterator[Flask]:
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "PUBLIC_URL": "http://testserver",
        **app_config,
    }
    app = create_app(config, instance_path=tmp_path / "instance")
    with app.app_context():
        yield app
        _db.session.remove()
        _db.engine.dispose()


@pytest.fixture
def db(app: Flask) -> Any:
    return _db


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def now() -> datetime:
    return datetime(2026, 12, 1, 14, 0, tzinfo=UTC)


@pytest.fixture
def make_user(app: Flask) -> Callable[..., User]:
    from teletherapy.services.accounts.users import create_user

    counter = {"n": 0}

    def make(role: str = "client", *, email: str | None = None, **kwargs: Any) -> User:
        counter["n"] += 1
        email = email or f"{role}{counter['n']}@example.org"
        if role == "client":  # clients live somewhere: New York City unless told
            kwargs.setdefault("state", "NY")
            kwargs.setdefault("zip", "10027")
        return create_user(email=email, password=PASSWORD, role=role, **kwargs)

    return make


@pytest.fixture
def login(client: FlaskClient) -> Callable[[User], FlaskClient]:
    def sign_in(user: User) -> FlaskClient:
        response = client.post("/sign-in", data={"email": user.email, "password": PASSWORD})
        assert response.status_code == 302, response.get_data(as_text=True)
        return client

    return sign_in


@pytest.fixture
def api_token(client: FlaskClient) -> Callable[[User], dict[str, str]]:
    def token_for(user: User) -> dict[str, str]:
        response = client.post("/api/v1/tokens", json={"email": user.email, "password": PASSWORD})
        assert response.status_code == 201, response.get_data(as_text=True)
        return {"Authorization": f"Bearer {response.get_json()['token']}"}

    return token_for
