"""No personal data or URL secrets in logs; a database that never answers is a quick 503."""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.exc import IntegrityError

from teletherapy import create_app
from teletherapy.extensions import db
from teletherapy.logs import RedactingGunicornLogger, redact
from teletherapy.models import User
from tests.localstripe import LiveServer

FEED_TOKEN = "feedsecretQ7w9e8r7t6y5u4"
RESET_TOKEN = "resetsecretZ1x2c3v4b5n6m7"


def test_a_failed_insert_logs_neither_the_email_nor_the_hash(
    app: Flask, make_user: Any, caplog: pytest.LogCaptureFixture
) -> None:
    make_user(email="private.person@example.org")
    db.session.add(
        User(
            email="private.person@example.org", password_hash="$argon2id$SECRETHASH", role="client"
        )
    )
    with caplog.at_level(logging.DEBUG), pytest.raises(IntegrityError) as caught:
        db.session.commit()
    logging.getLogger("teletherapy.test").exception("insert failed")
    db.session.rollback()
    for text in (str(caught.value), caplog.text):
        assert "private.person" not in text and "SECRETHASH" not in text
    assert "hidden due to hide_parameters" in str(caught.value)


def test_failures_on_every_account_path_log_no_email_token_or_hash(
    client: FlaskClient, make_user: Any, caplog: pytest.LogCaptureFixture
) -> None:
    user = make_user(email="quiet.person@example.org")
    with caplog.at_level(logging.DEBUG):
        client.post("/sign-in", data={"email": user.email, "password": "wrong-password-1"})
        client.post("/sign-in", data={"email": "ghost.person@example.org", "password": "x"})
        client.post(
            "/sign-up",
            data={"display_name": "Q", "email": user.email, "password": "another-long-pass-1",
                  "role": "client", "time_zone": "America/New_York", "language": "en"},
        )  # fmt: skip
        client.post("/reset-password", data={"email": user.email})
        client.post(f"/reset-password/{RESET_TOKEN}", data={"password": "x", "confirm": "y"})
        client.get(f"/feeds/{FEED_TOKEN}.ics")
        client.post("/api/v1/tokens", json={"email": user.email, "password": "nope"})
        client.get("/api/v1/me", headers={"Authorization": "Bearer tt_not_a_real_token"})
    for secret in ("quiet.person", "ghost.person", RESET_TOKEN, FEED_TOKEN, "$argon2"):
        assert secret not in caplog.text


@pytest.fixture
def served(app: Flask) -> Iterator[str]:
    server = LiveServer(app).start()
    try:
        yield server.url
    finally:
        server.stop()


def test_the_access_log_redacts_feed_and_reset_tokens(
    served: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="werkzeug"):
        for path in (f"/feeds/{FEED_TOKEN}.ics", f"/reset-password/{RESET_TOKEN}"):
            # An unknown feed is a 404; its line is logged all the same.
            with contextlib.suppress(urllib.error.HTTPError):
                urllib.request.urlopen(served + path, timeout=10).close()
        time.sleep(0.2)
    assert "/feeds/[redacted]" in caplog.text and "/reset-password/[redacted]" in caplog.text
    assert FEED_TOKEN not in caplog.text and RESET_TOKEN not in caplog.text


def test_the_gunicorn_access_log_redacts_tokens() -> None:
    from gunicorn.config import Config

    logger = RedactingGunicornLogger(Config())
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": f"/feeds/{FEED_TOKEN}.ics?token={RESET_TOKEN}",
        "PATH_INFO": f"/feeds/{FEED_TOKEN}.ics",
        "QUERY_STRING": f"token={RESET_TOKEN}",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_REFERER": f"https://x.test/reset-password/{RESET_TOKEN}",
    }
    response = SimpleNamespace(status="200 OK", response_length=10, sent=10, headers=[])
    request = SimpleNamespace(headers=[])
    atoms = logger.atoms(response, request, environ, timedelta(seconds=0.01))
    text = " ".join(str(v) for v in atoms.values())
    assert FEED_TOKEN not in text and RESET_TOKEN not in text
    assert redact(f"/reset-password/{RESET_TOKEN}") == "/reset-password/[redacted]"


@pytest.fixture
def silent_database() -> Iterator[int]:
    """A TCP server that accepts connections and never says a word."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(50)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield int(server.getsockname()[1])
    finally:
        stop.set()
        thread.join(5)
        for conn in held:
            conn.close()
        server.close()


@pytest.mark.parametrize("path", ["/api/v1/vocabularies", "/api/v1/therapists/1"])
def test_a_database_that_never_answers_is_a_503_problem_within_seconds(
    silent_database: int, tmp_path: Path, path: str
) -> None:
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "x" * 40,
            "RATELIMIT_ENABLED": False,
            "SQLALCHEMY_DATABASE_URI": f"postgresql://u@127.0.0.1:{silent_database}/db",
            "DATABASE_CONNECT_TIMEOUT_SECONDS": 2,
        },
        instance_path=tmp_path,
    )
    started = time.monotonic()
    response = app.test_client().get(path)
    elapsed = time.monotonic() - started
    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
    assert response.headers["Retry-After"]
    assert elapsed < 10
    with app.app_context():
        db.engine.dispose()


def test_postgresql_connections_get_a_statement_timeout() -> None:
    from teletherapy.settings import DEFAULTS, engine_options

    options = engine_options({**DEFAULTS, "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://h/d"})
    assert options["hide_parameters"] is True
    assert "statement_timeout=5000" in options["connect_args"]["options"]
    assert options["connect_args"]["connect_timeout"] == 3


def test_behind_pgbouncer_nothing_is_prepared_and_no_startup_options_are_sent() -> None:
    """PgBouncer (transaction pooling) refuses `options` and loses prepared statements
    between transactions: DATABASE_POOLER=pgbouncer turns both off (the database carries
    the settings instead, docs/topology.md)."""
    import pytest

    from teletherapy.settings import DEFAULTS, ConfigurationError, engine_options

    url = "postgresql+psycopg://h/d"
    direct = engine_options({**DEFAULTS, "SQLALCHEMY_DATABASE_URI": url})
    assert "prepare_threshold" not in direct["connect_args"]
    pooled = engine_options(
        {**DEFAULTS, "SQLALCHEMY_DATABASE_URI": url, "DATABASE_POOLER": "pgbouncer"}
    )
    assert pooled["connect_args"]["prepare_threshold"] is None
    assert "options" not in pooled["connect_args"]
    assert pooled["connect_args"]["connect_timeout"] == 3
    with pytest.raises(ConfigurationError):
        engine_options({**DEFAULTS, "SQLALCHEMY_DATABASE_URI": url, "DATABASE_POOLER": "pgpool"})


def test_both_poolers_are_read_from_the_environment(monkeypatch: Any, tmp_path: Any) -> None:
    """An operator sets DATABASE_POOLER and DATABASE_REPLICA_POOLER like the URLs."""
    from teletherapy import create_app

    monkeypatch.setenv("DATABASE_POOLER", "pgbouncer")
    monkeypatch.setenv("DATABASE_REPLICA_POOLER", "pgbouncer")
    app = create_app({"TESTING": True}, instance_path=tmp_path / "instance")
    assert app.config["DATABASE_POOLER"] == "pgbouncer"
    assert app.config["DATABASE_REPLICA_POOLER"] == "pgbouncer"
