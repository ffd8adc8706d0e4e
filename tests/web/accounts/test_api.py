"""API basics: tokens, /me, vocabularies, problem+json errors and the OpenAPI document."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient


def test_token_then_me(client: FlaskClient, make_user: Any, api_token: Any) -> None:
    user = make_user("therapist", display_name="Ana R.")
    headers = api_token(user)
    body = client.get("/api/v1/me", headers=headers).get_json()
    assert body == {
        "id": user.id,
        "email": user.email,
        "role": "therapist",
        "display_name": "Ana R.",
        "time_zone": "America/New_York",
        "language": "en",
        "state": None,
        "zip": None,
        "therapist_id": user.therapist_id,
    }
    assert body["therapist_id"] is not None


def test_client_me_has_no_therapist_id(client: FlaskClient, make_user: Any, api_token: Any) -> None:
    body = client.get("/api/v1/me", headers=api_token(make_user())).get_json()
    assert body["therapist_id"] is None


def test_put_me_changes_own_fields(client: FlaskClient, make_user: Any, api_token: Any) -> None:
    headers = api_token(make_user())
    response = client.put(
        "/api/v1/me",
        headers=headers,
        json={
            "display_name": "Lin",
            "time_zone": "Asia/Kolkata",
            "language": "hi",
            "state": "NJ",
            "zip": "07302",
        },
    )
    assert response.status_code == 200
    assert response.get_json()["time_zone"] == "Asia/Kolkata"
    assert response.get_json()["zip"] == "07302"


def test_put_me_with_bad_fields_is_problem_json_and_changes_nothing(
    client: FlaskClient, make_user: Any, api_token: Any
) -> None:
    headers = api_token(make_user(display_name="Keep"))
    response = client.put(
        "/api/v1/me", headers=headers, json={"display_name": "Gone", "time_zone": "US/Eastern"}
    )
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert {"type", "title", "status", "detail"} <= problem.keys()
    assert "America/New_York" in problem["errors"]["time_zone"][0]
    assert client.get("/api/v1/me", headers=headers).get_json()["display_name"] == "Keep"


def test_schema_errors_name_the_fields(client: FlaskClient, make_user: Any, api_token: Any) -> None:
    headers = api_token(make_user())
    response = client.put("/api/v1/me", headers=headers, json={"language": "xx", "zip": "1"})
    assert response.status_code == 422
    assert set(response.get_json()["errors"]) == {"language", "zip"}


def test_wrong_password_gives_401_problem(client: FlaskClient, make_user: Any) -> None:
    user = make_user()
    response = client.post("/api/v1/tokens", json={"email": user.email, "password": "wrong"})
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"


def test_missing_or_revoked_token_gives_401(
    client: FlaskClient, make_user: Any, api_token: Any
) -> None:
    assert client.get("/api/v1/me").status_code == 401
    user = make_user()
    headers = api_token(user)
    from teletherapy.clock import utcnow
    from teletherapy.services.accounts.users import list_api_tokens, revoke_api_token

    revoke_api_token(user_id=user.id, token_id=list_api_tokens(user_id=user.id)[0].id, now=utcnow())
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_session_cookie_does_not_authenticate_the_api(login: Any, make_user: Any) -> None:
    client = login(make_user())
    assert client.get("/api/v1/me").status_code == 401


def test_unknown_api_route_is_problem_json(client: FlaskClient) -> None:
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404 and response.mimetype == "application/problem+json"


def test_vocabularies_list_design_codes(client: FlaskClient) -> None:
    body = client.get("/api/v1/vocabularies").get_json()
    modalities = {e["code"] for e in body["modalities"]}
    assert {
        "cbt",
        "act",
        "dbt",
        "psychodynamic",
        "group",
        "art",
        "music",
        "mindfulness",
        "occupational",
        "medication_management",
        "psychotherapy",
    } <= modalities
    assert {e["code"] for e in body["settings"]} == {"online", "in_office", "home"}
    assert {"en", "es", "zh"} <= {e["code"] for e in body["languages"]}


def test_every_api_route_is_in_the_openapi_document(app: Flask, client: FlaskClient) -> None:
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    documented = {
        (path, method.upper())
        for path, ops in spec["paths"].items()
        for method in ops
        if method in {"get", "put", "post", "delete", "patch"}
    }
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.endpoint == "api-docs.openapi_json":
            continue
        path = rule.rule.replace("<int:", "{").replace("<", "{").replace(">", "}")
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (path.removeprefix("/api/v1"), method) in documented or (
                path,
                method,
            ) in documented, f"{method} {path} missing from OpenAPI"
