"""Bad input of every class is a 4xx (problem+json in the API) and changes nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from teletherapy.extensions import db
from teletherapy.models import User

PROBLEM = "application/problem+json"


def users() -> int:
    db.session.rollback()
    return int(db.session.scalar(select(func.count(User.id))) or 0)


def test_a_body_over_the_limit_is_a_413_problem_before_it_is_read(client: FlaskClient) -> None:
    body = b"{" + b" " * (1024 * 1024 + 10) + b"}"
    response = client.post(
        "/api/v1/tokens", data=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.mimetype == PROBLEM


@pytest.mark.parametrize("app_config", [{"MAX_CONTENT_LENGTH": 1000}])
def test_the_body_limit_is_configurable(client: FlaskClient) -> None:
    response = client.post("/sign-up", data={"display_name": "x" * 2000})
    assert response.status_code == 413
    assert users() == 0


def test_malformed_json_is_a_400_syntax_problem(client: FlaskClient) -> None:
    response = client.post(
        "/api/v1/tokens", data=b'{"email": ', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.mimetype == PROBLEM
    assert "JSON" in response.get_json()["detail"]


def test_json_that_is_not_utf8_is_a_400(client: FlaskClient) -> None:
    response = client.post(
        "/api/v1/tokens", data=b'{"email": "\xff"}', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400


@pytest.mark.parametrize("depth", [40, 100_000])
def test_json_nested_too_deep_is_a_400(client: FlaskClient, depth: int) -> None:
    body = "[" * depth + "]" * depth
    response = client.post(
        "/api/v1/tokens", data=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert "deeper" in response.get_json()["detail"]


def test_valid_json_that_fails_validation_is_a_422(client: FlaskClient) -> None:
    response = client.post("/api/v1/tokens", json={"email": "not an email"})
    assert response.status_code == 422
    assert "email" in response.get_json()["errors"]


@pytest.mark.parametrize("character", ["\x00", "\x07", "\x1b", "\x7f", "\x85"])
def test_control_characters_in_api_text_are_a_422_naming_the_field_signed_out(
    client: FlaskClient, character: str
) -> None:
    response = client.post(
        "/api/v1/tokens", json={"email": f"a{character}@example.org", "password": "x"}
    )
    assert response.status_code == 422
    assert response.mimetype == PROBLEM
    assert "email" in response.get_json()["errors"]


def test_control_characters_in_api_text_signed_in_change_nothing(
    client: FlaskClient, make_user: Any, api_token: Any
) -> None:
    user = make_user("client", display_name="Ana")
    headers = api_token(user)
    response = client.put(
        "/api/v1/me",
        json={"display_name": "Ana\x00Bob", "nested": [{"x": "\x01"}]},
        headers=headers,
    )
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert "display_name" in errors and "nested[0].x" in errors
    db.session.rollback()
    assert db.session.get(User, user.id).display_name == "Ana"  # type: ignore[union-attr]


def test_control_characters_in_a_form_are_a_422_naming_the_field(client: FlaskClient) -> None:
    response = client.post(
        "/sign-up",
        data={
            "display_name": "Eve\x00",
            "email": "eve@example.org",
            "password": "a-very-long-passphrase-here",
            "role": "client",
        },
    )
    assert response.status_code == 422
    assert "display_name" in response.get_data(as_text=True)
    assert users() == 0


def test_tabs_and_newlines_are_text(client: FlaskClient, make_user: Any, api_token: Any) -> None:
    headers = api_token(make_user("client"))
    response = client.put("/api/v1/me", json={"display_name": "Ana\tB"}, headers=headers)
    assert response.status_code == 200


def test_control_characters_in_a_query_parameter_are_a_422(client: FlaskClient) -> None:
    response = client.get("/api/v1/therapists/1/slots?from=2026-12-01%00")
    assert response.status_code == 422
    assert "from" in response.get_json()["errors"]


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/bookings/99999999999999999999",
        "/api/v1/therapists/2147483648",
        "/sessions/" + "9" * 12,
    ],
)
def test_ids_beyond_the_column_are_a_404(
    client: FlaskClient, make_user: Any, api_token: Any, path: str
) -> None:
    headers = api_token(make_user("client"))
    assert client.get(path, headers=headers).status_code == 404


def test_integers_beyond_the_column_in_json_are_a_422(
    client: FlaskClient, make_user: Any, api_token: Any
) -> None:
    headers = api_token(make_user("client"))
    response = client.post(
        "/api/v1/bookings",
        json={"therapist_id": 2**40, "start": "2026-12-01T10:00:00Z", "setting": "online"},
        headers=headers,
    )
    assert response.status_code == 422
    assert "therapist_id" in response.get_json()["errors"]


def test_integers_beyond_the_column_in_a_query_are_a_422(
    client: FlaskClient, make_user: Any, api_token: Any
) -> None:
    headers = api_token(make_user("therapist"))
    response = client.get("/api/v1/groups?limit=99999999999999999999999", headers=headers)
    assert response.status_code == 422


@pytest.mark.parametrize(
    "query", ["from=1899-12-31&to=1900-01-02", "from=2026-12-01&to=2201-01-01", "from=0001-01-01"]
)
def test_dates_outside_1900_to_2200_in_a_query_are_a_422(client: FlaskClient, query: str) -> None:
    response = client.get(f"/api/v1/therapists/1/slots?{query}")
    assert response.status_code == 422


@pytest.mark.parametrize(
    "role,path",
    [
        ("therapist", "/practice/sessions?date=1066-10-14"),
        ("client", "/therapists/1/book?week=2999-01-01"),
        ("client", "/payments/superbill?month=2999-01"),
    ],
)
def test_dates_outside_the_range_on_a_page_are_a_422(
    login: Any, make_user: Any, role: str, path: str
) -> None:
    client = login(make_user(role))
    assert client.get(path).status_code == 422


@pytest.mark.parametrize("start", ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z"])
def test_instants_outside_the_range_in_json_are_a_422(
    client: FlaskClient, make_user: Any, api_token: Any, start: str
) -> None:
    headers = api_token(make_user("client"))
    response = client.post(
        "/api/v1/bookings",
        json={"therapist_id": 1, "start": start, "setting": "online"},
        headers=headers,
    )
    assert response.status_code == 422
    assert "start" in response.get_json()["errors"]


@pytest.mark.parametrize("zone", ["EST5EDT", "localtime", "Factory", "", "US/Eastern", "Mars/Base"])
def test_one_time_zone_rule_for_the_account_api(
    client: FlaskClient, make_user: Any, api_token: Any, zone: str
) -> None:
    headers = api_token(make_user("client"))
    response = client.put("/api/v1/me", json={"time_zone": zone}, headers=headers)
    assert response.status_code == 422
    assert "time_zone" in response.get_json()["errors"]


@pytest.mark.parametrize("zone", ["EST5EDT", "localtime", "Factory", ""])
def test_one_time_zone_rule_for_matching(
    client: FlaskClient, make_user: Any, api_token: Any, zone: str
) -> None:
    headers = api_token(make_user("client"))
    response = client.post(
        "/api/v1/matches",
        json={"setting": "online", "state": "NY", "time_zone": zone},
        headers=headers,
    )
    assert response.status_code == 422
    assert "time_zone" in response.get_json()["errors"]


@pytest.mark.parametrize("zone", ["EST5EDT", "Factory", ""])
def test_one_time_zone_rule_for_availability(
    client: FlaskClient, make_user: Any, api_token: Any, zone: str
) -> None:
    headers = api_token(make_user("therapist"))
    response = client.put("/api/v1/me/availability", json={"time_zone": zone}, headers=headers)
    assert response.status_code == 422


def test_a_group_cannot_be_created_with_an_empty_zone(
    client: FlaskClient, make_user: Any, api_token: Any
) -> None:
    headers = api_token(make_user("therapist"))
    response = client.post(
        "/api/v1/groups",
        json={
            "title": "Grief group",
            "modality": "group",
            "setting": "online",
            "capacity": 8,
            "fee_cents": 2000,
            "first_start": "2026-12-20T18:00:00Z",
            "duration_minutes": 90,
            "weekly_count": 4,
            "time_zone": "",
        },
        headers=headers,
    )
    assert response.status_code == 422
    assert "time_zone" in response.get_json()["errors"]


def test_the_account_page_refuses_a_legacy_zone(login: Any, make_user: Any) -> None:
    client = login(make_user("client"))
    response = client.post(
        "/account", data={"display_name": "A", "time_zone": "EST5EDT", "language": "en"}
    )
    assert response.status_code == 422
    assert "EST5EDT" in response.get_data(as_text=True)


def test_availability_end_2400_is_midnight_and_only_an_end(
    client: FlaskClient, make_user: Any, api_token: Any
) -> None:
    headers = api_token(make_user("therapist"))
    good = {"weekly": [{"weekday": 0, "start": "20:00", "end": "24:00", "setting": "online"}]}
    assert client.put("/api/v1/me/availability", json=good, headers=headers).status_code == 200
    bad = {"weekly": [{"weekday": 0, "start": "24:00", "end": "24:00", "setting": "online"}]}
    assert client.put("/api/v1/me/availability", json=bad, headers=headers).status_code == 422


@pytest.mark.parametrize(
    "method,path", [("DELETE", "/api/v1/me"), ("PUT", "/api/v1/tokens"), ("DELETE", "/sign-in")]
)
def test_a_405_says_which_methods_are_allowed(client: FlaskClient, method: str, path: str) -> None:
    response = client.open(path, method=method)
    assert response.status_code == 405
    assert "Allow" in response.headers
    if path.startswith("/api/"):
        assert response.mimetype == PROBLEM


def test_a_text_body_on_a_json_endpoint_is_not_a_500(client: FlaskClient) -> None:
    response = client.post(
        "/api/v1/tokens", data=json.dumps({"email": "a@b.c"}), content_type="text/plain"
    )
    assert response.status_code in (400, 415, 422)
