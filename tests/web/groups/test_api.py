"""The groups API: therapists create groups, clients take seats or wait, problems are JSON."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask, g
from flask.testing import FlaskClient

# Two weeks ahead of the real clock (views read it), at 23:00 UTC.
START = (datetime.now(UTC) + timedelta(days=14)).replace(hour=23, minute=0, second=0, microsecond=0)


@pytest.fixture(autouse=True)
def fresh_actor_per_request(app: Flask) -> None:
    """The test's app context (and so `g`) outlives requests; forget the cached caller."""

    def forget() -> None:
        g.pop("actor", None)
        g.pop("_login_user", None)

    app.before_request_funcs.setdefault(None, []).insert(0, forget)


def group_body(**overrides: Any) -> dict[str, Any]:
    return {
        "title": "Mindful parenting circle",
        "modality": "mindfulness",
        "setting": "online",
        "capacity": 2,
        "fee_cents": 1500,
        "first_start": START.isoformat(),
        "duration_minutes": 75,
        "weekly_count": 3,
        **overrides,
    }


@pytest.fixture
def therapist_headers(make_user: Any, api_token: Any) -> dict[str, str]:
    headers: dict[str, str] = api_token(make_user("therapist", display_name="Dana Reyes"))
    return headers


def create(client: FlaskClient, headers: dict[str, str], **overrides: Any) -> dict[str, Any]:
    response = client.post("/api/v1/groups", json=group_body(**overrides), headers=headers)
    assert response.status_code == 201, response.get_data(as_text=True)
    body: dict[str, Any] = response.get_json()
    return body


def test_a_therapist_creates_a_group_with_weekly_meetings_in_utc(
    client: FlaskClient, therapist_headers: dict[str, str]
) -> None:
    group = create(client, therapist_headers)
    assert group["title"] == "Mindful parenting circle"
    assert group["therapist_name"] == "Dana Reyes"
    assert (group["capacity"], group["seats_taken"], group["seats_left"]) == (2, 0, 2)
    assert group["status"] == "open" and group["time_zone"] == "America/New_York"
    assert len(group["meetings"]) == 3
    first = group["meetings"][0]
    assert first["start"] == START.isoformat().replace("+00:00", "Z")
    assert first["end"].endswith("Z")
    listed = client.get("/api/v1/groups").get_json()["groups"]
    assert [g["id"] for g in listed] == [group["id"]]
    assert listed[0]["membership"] is None
    assert client.get(f"/api/v1/groups/{group['id']}").get_json()["id"] == group["id"]


def test_seats_then_a_full_group_offers_the_waitlist_and_a_freed_seat_moves_on(
    client: FlaskClient, therapist_headers: dict[str, str], make_user: Any, api_token: Any
) -> None:
    group_id = create(client, therapist_headers)["id"]
    ana, ben, cleo = (api_token(make_user("client")) for _ in range(3))
    seats = f"/api/v1/groups/{group_id}/seats"

    taken = client.post(seats, headers=ana)
    assert taken.status_code == 201
    assert taken.get_json()["status"] == "taken"
    again = client.post(seats, headers=ana)
    assert again.status_code == 409
    assert again.get_json()["reason"] == "already_seated"
    assert client.post(seats, headers=ben).status_code == 201

    full = client.post(seats, headers=cleo)
    assert full.status_code == 409
    assert full.mimetype == "application/problem+json"
    problem = full.get_json()
    assert problem["reason"] == "full" and problem["waitlist"] is True
    waiting = client.post(f"/api/v1/groups/{group_id}/waitlist", headers=cleo)
    assert waiting.status_code == 201
    assert waiting.get_json()["position"] == 1
    detail = client.get(f"/api/v1/groups/{group_id}", headers=cleo).get_json()
    assert detail["membership"] == {"seated": False, "waitlist_position": 1}
    assert detail["waitlist_count"] == 1

    assert client.delete(f"{seats}/me", headers=ana).status_code == 204
    detail = client.get(f"/api/v1/groups/{group_id}", headers=cleo).get_json()
    assert detail["membership"] == {"seated": True, "waitlist_position": None}
    assert (detail["seats_taken"], detail["waitlist_count"]) == (2, 0)
    assert client.delete(f"{seats}/me", headers=ana).status_code == 404
    mine = client.get("/api/v1/groups?mine=true", headers=cleo).get_json()["groups"]
    assert [g["id"] for g in mine] == [group_id]
    assert client.get("/api/v1/groups?mine=true", headers=ana).get_json()["groups"] == []


def test_leaving_the_waitlist(
    client: FlaskClient, therapist_headers: dict[str, str], make_user: Any, api_token: Any
) -> None:
    group_id = create(client, therapist_headers)["id"]
    for _ in range(2):
        client.post(f"/api/v1/groups/{group_id}/seats", headers=api_token(make_user("client")))
    dana = api_token(make_user("client"))
    assert client.post(f"/api/v1/groups/{group_id}/waitlist", headers=dana).status_code == 201
    assert client.delete(f"/api/v1/groups/{group_id}/waitlist/me", headers=dana).status_code == 204
    assert client.delete(f"/api/v1/groups/{group_id}/waitlist/me", headers=dana).status_code == 404


def test_the_waitlist_of_a_group_with_free_seats_is_refused(
    client: FlaskClient, therapist_headers: dict[str, str], make_user: Any, api_token: Any
) -> None:
    group_id = create(client, therapist_headers)["id"]
    response = client.post(
        f"/api/v1/groups/{group_id}/waitlist", headers=api_token(make_user("client"))
    )
    assert response.status_code == 409
    assert response.get_json()["reason"] == "seats_available"


@pytest.mark.parametrize(
    "overrides,field",
    [
        ({"first_start": START.replace(tzinfo=None).isoformat()}, "first_start"),
        ({"capacity": 16}, "capacity"),
        ({"modality": "astrology"}, "modality"),
        ({"duration_minutes": 600}, "duration_minutes"),
        ({"time_zone": "Mars/Olympus"}, "time_zone"),
    ],
)
def test_bad_group_input_is_a_422_naming_the_field(
    client: FlaskClient, therapist_headers: dict[str, str], overrides: dict[str, Any], field: str
) -> None:
    response = client.post(
        "/api/v1/groups", json=group_body(**overrides), headers=therapist_headers
    )
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert field in response.get_json()["errors"]
    assert client.get("/api/v1/groups").get_json()["groups"] == []


def test_a_group_clashing_with_the_calendar_is_a_409_listing_the_dates(
    client: FlaskClient, therapist_headers: dict[str, str]
) -> None:
    group = create(client, therapist_headers)
    # Half an hour into its second meeting. Meetings keep their New York wall-clock time,
    # so their UTC times move at a daylight-saving change: read them, do not add weeks.
    starts = [datetime.fromisoformat(m["start"]) for m in group["meetings"]]
    later = starts[1] + timedelta(minutes=30)
    response = client.post(
        "/api/v1/groups", json=group_body(first_start=later.isoformat()), headers=therapist_headers
    )
    assert response.status_code == 409
    problem = response.get_json()
    assert problem["reason"] == "taken"
    assert problem["conflicts"] == [
        (start + timedelta(minutes=30)).isoformat().replace("+00:00", "Z") for start in starts[1:]
    ]


def test_roles_are_enforced(
    client: FlaskClient, therapist_headers: dict[str, str], make_user: Any, api_token: Any
) -> None:
    group_id = create(client, therapist_headers)["id"]
    client_headers = api_token(make_user("client"))
    assert (
        client.post("/api/v1/groups", json=group_body(), headers=client_headers).status_code == 403
    )
    seats = f"/api/v1/groups/{group_id}/seats"
    assert client.post(seats, headers=therapist_headers).status_code == 403
    assert client.post(seats).status_code == 401
    assert client.get("/api/v1/groups?mine=true").status_code == 401
    assert client.get("/api/v1/groups/999999").status_code == 404


def test_a_therapist_lists_their_own_groups(
    client: FlaskClient, therapist_headers: dict[str, str], make_user: Any, api_token: Any
) -> None:
    own = create(client, therapist_headers)["id"]
    create(client, api_token(make_user("therapist")))
    mine = client.get("/api/v1/groups?mine=true", headers=therapist_headers).get_json()["groups"]
    assert [g["id"] for g in mine] == [own]


def test_group_routes_are_documented(client: FlaskClient) -> None:
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/groups"])
    assert "delete" in paths["/api/v1/groups/{group_id}/seats/me"]


def test_a_therapist_cancels_their_group_and_nobody_else_can(
    client: FlaskClient, therapist_headers: dict[str, str], make_user: Any, api_token: Any
) -> None:
    group_id = create(client, therapist_headers)["id"]
    other = api_token(make_user("therapist"))
    assert (
        client.post(f"/api/v1/groups/{group_id}/cancel", json={}, headers=other).status_code == 404
    )
    response = client.post(
        f"/api/v1/groups/{group_id}/cancel", json={"reason": "Too few"}, headers=therapist_headers
    )
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "cancelled"
    assert {m["status"] for m in body["meetings"]} == {"cancelled"}
    again = client.post(f"/api/v1/groups/{group_id}/cancel", json={}, headers=therapist_headers)
    assert again.status_code == 409
