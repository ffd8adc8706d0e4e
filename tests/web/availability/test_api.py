"""GET|PUT /api/v1/me/availability: therapists only, DESIGN shape, problem+json naming fields."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

URL = "/api/v1/me/availability"
BODY: dict[str, Any] = {
    "time_zone": "America/New_York",
    "session_minutes": 50,
    "buffer_minutes": 10,
    "min_notice_hours": 24,
    "horizon_days": 60,
    "weekly": [{"weekday": 0, "start": "09:00", "end": "12:00", "setting": "online"}],
    "overrides": [
        {"date": "2026-12-24", "available": False},
        {"date": "2026-12-27", "start": "10:00", "end": "14:00", "setting": "online"},
    ],
}


def test_a_new_therapist_gets_the_defaults(
    client: FlaskClient, make_user: Any, api_token: Any
) -> None:
    headers = api_token(make_user("therapist", time_zone="America/Chicago"))
    response = client.get(URL, headers=headers)
    assert response.status_code == 200
    body = response.get_json()
    assert body["time_zone"] == "America/Chicago"
    assert (body["session_minutes"], body["buffer_minutes"]) == (50, 10)
    assert (body["min_notice_hours"], body["horizon_days"]) == (24, 60)
    assert body["weekly"] == [] and body["overrides"] == []
    assert body["accepting_new_clients"] is True


def test_put_then_get_returns_the_design_shape(
    client: FlaskClient, make_user: Any, api_token: Any
) -> None:
    headers = api_token(make_user("therapist"))
    response = client.put(URL, headers=headers, json={**BODY, "max_per_day": 5})
    assert response.status_code == 200, response.get_data(as_text=True)
    body = client.get(URL, headers=headers).get_json()
    assert {key: body[key] for key in BODY} == BODY
    assert body["max_per_day"] == 5
    assert body["max_per_week"] is None
    assert body["travel_buffer_minutes"] == 30
    assert body["cancellation_window_hours"] == 24


def test_domain_problems_are_422_problem_json_keyed_by_field_and_change_nothing(
    client: FlaskClient, make_user: Any, api_token: Any
) -> None:
    headers = api_token(make_user("therapist"))
    client.put(URL, headers=headers, json=BODY)
    bad = {
        **BODY,
        "time_zone": "US/Eastern",
        "weekly": [
            {"weekday": 2, "start": "09:00", "end": "12:00", "setting": "online"},
            {"weekday": 2, "start": "11:00", "end": "10:00", "setting": "home"},
        ],
    }
    response = client.put(URL, headers=headers, json=bad)
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["status"] == 422 and problem["title"]
    assert {"time_zone", "weekly[1].end"} <= set(problem["errors"])
    assert "America/New_York" in " ".join(problem["errors"]["time_zone"])
    assert client.get(URL, headers=headers).get_json()["weekly"] == BODY["weekly"]


def test_malformed_values_are_422_with_json_style_keys(
    client: FlaskClient, make_user: Any, api_token: Any
) -> None:
    headers = api_token(make_user("therapist"))
    response = client.put(
        URL,
        headers=headers,
        json={
            "session_minutes": "long",
            "weekly": [{"weekday": 9, "start": "9am", "end": "12:00", "setting": "car"}],
            "overrides": [{"available": False}],
        },
    )
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    errors = response.get_json()["errors"]
    assert {
        "session_minutes",
        "weekly[0].weekday",
        "weekly[0].start",
        "weekly[0].setting",
        "overrides[0].date",
    } <= set(errors)
    assert client.get(URL, headers=headers).get_json()["weekly"] == []


def test_a_client_may_not_use_it(client: FlaskClient, make_user: Any, api_token: Any) -> None:
    headers = api_token(make_user("client"))
    for response in (client.get(URL, headers=headers), client.put(URL, headers=headers, json=BODY)):
        assert response.status_code == 403
        assert response.mimetype == "application/problem+json"


def test_without_a_token_it_is_401(client: FlaskClient) -> None:
    for response in (client.get(URL), client.put(URL, json=BODY)):
        assert response.status_code == 401
        assert response.mimetype == "application/problem+json"


def test_a_browser_session_cannot_drive_the_api(
    client: FlaskClient, make_user: Any, login: Any
) -> None:
    login(make_user("therapist"))
    assert client.put(URL, json=BODY).status_code == 401


def test_the_endpoint_is_documented(client: FlaskClient) -> None:
    spec = client.get("/api/v1/openapi.json").get_json()
    operations = spec["paths"]["/api/v1/me/availability"]
    assert {"get", "put"} <= set(operations)
    assert operations["put"]["security"] == [{"bearer": []}]


def test_problems_with_values_are_in_the_therapist_s_language(
    client: FlaskClient, make_user: Any, api_token: Any
) -> None:
    headers = api_token(make_user("therapist", language="es"))
    bad = {
        **BODY,
        "time_zone": "US/Eastern",
        "buffer_minutes": 500,
        "weekly": [
            {"weekday": 2, "start": "09:00", "end": "12:00", "setting": "online"},
            {"weekday": 2, "start": "10:00", "end": "11:00", "setting": "online"},
        ],
        "overrides": [{"date": "2026-12-24", "available": False, "start": "09:00"}],
    }
    problem = client.put(URL, headers=headers, json=bad).get_json()
    assert problem["detail"] == "La disponibilidad tiene 4 problemas."
    errors = problem["errors"]
    assert errors["time_zone"] == [
        "'US/Eastern' es un alias antiguo; use el nombre canónico 'America/New_York'."
    ]
    assert errors["buffer_minutes"][0].startswith("Debe ser un número entero de 0 a ")
    assert errors["weekly[1].start"] == [
        "Se superpone con weekly[0]; una persona no puede estar en dos lugares a la vez."
    ]
    assert errors["overrides[0].start"] == ["Un día libre no tiene hora de inicio."]
