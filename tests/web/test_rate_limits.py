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
