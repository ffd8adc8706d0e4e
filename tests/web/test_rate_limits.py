"""Sign-in, reset and token requests are rate limited (Flask-Limiter)."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"RATELIMIT_ENABLED": True}


def test_sign_in_is_rate_limited(client: FlaskClient) -> None:
    codes = [client.post("/sign-in", data={}).status_code for _ in range(12)]
    assert 429 in codes
    assert codes.index(429) == 10


def test_api_token_endpoint_is_rate_limited_with_problem_json(client: FlaskClient) -> None:
    responses = [
        client.post("/api/v1/tokens", json={"email": "a@example.org", "password": "x"})
        for _ in range(11)
    ]
    assert responses[-1].status_code == 429
    assert responses[-1].mimetype == "application/problem+json"


def test_reset_requests_are_rate_limited(client: FlaskClient) -> None:
    codes = [
        client.post("/reset-password", data={"email": "a@example.org"}).status_code
        for _ in range(6)
    ]
    assert codes[-1] == 429


def test_limits_are_shared_between_workers_through_redis(tmp_path: Any, database_url: str) -> None:
    """Two app instances (as two gunicorn workers) count against one limit in Redis."""
    import os
    import uuid

    import redis

    from teletherapy import create_app
    from tests.peers import peer_missing

    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        peer_missing(f"Redis unreachable at {url}: {exc}")
    config = {
        "TESTING": True,
        "SECRET_KEY": "x" * 40,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": True,
        "RATELIMIT_STORAGE_URI": url,
    }
    # A caller address of its own keeps this test's counters apart from other runs.
    address = "10.{}.{}.{}".format(*uuid.uuid4().bytes[:3])
    workers = [create_app(config, instance_path=tmp_path / str(i)).test_client() for i in (1, 2)]
    codes = [
        workers[i % 2].post("/sign-in", data={}, environ_base={"REMOTE_ADDR": address}).status_code
        for i in range(11)
    ]
    assert codes[:10] == [422] * 10
    assert codes[10] == 429
