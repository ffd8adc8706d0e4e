"""Booking API: slots in UTC, the booking shape, 409 reasons, idempotency, parties only."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.booking_setup import set_availability

THU_10 = "2026-12-03T15:00:00Z"  # Thu 10:00 New York
THU_11 = "2026-12-03T16:00:00Z"


@pytest.fixture(autouse=True)
def frozen_now(monkeypatch: Any, now: datetime) -> datetime:
    import teletherapy.web.bookings.api as api
    import teletherapy.web.matching.api as slots_api

    monkeypatch.setattr(api, "utcnow", lambda: now)
    monkeypatch.setattr(slots_api, "utcnow", lambda: now)
    return now


@pytest.fixture
def therapist(make_user: Any) -> Any:
    return make_user("therapist", display_name="Dr Ana")


@pytest.fixture
def tid(therapist: Any) -> int:
    return set_availability(therapist)


@pytest.fixture
def client_headers(make_user: Any, api_token: Any) -> dict[str, str]:
    return dict(api_token(make_user("client")))


def post_booking(client: FlaskClient, headers: dict[str, str], **body: Any) -> Any:
    return client.post("/api/v1/bookings", headers=headers, json=body)


def test_slots_answer_in_utc_with_z_and_are_public(client: FlaskClient, tid: int) -> None:
    response = client.get(f"/api/v1/therapists/{tid}/slots?from=2026-12-03&to=2026-12-03")
    assert response.status_code == 200
    slots = response.get_json()["slots"]
    assert slots[0] == {"start": THU_10[:11] + "14:00:00Z", "end": "2026-12-03T14:50:00Z",
                        "setting": "online"}  # fmt: skip
    assert len(slots) == 8


@pytest.mark.parametrize(
    "query,field",
    [
        ("from=2026-12-05&to=2026-12-03", "to"),
        ("from=2026-12-01&to=2027-03-01", "to"),
        ("from=2026-12-01&to=2026-12-03&setting=zoom", "setting"),
        ("to=2026-12-03", "from"),
    ],
)
def test_bad_slot_queries_are_problem_json(
    client: FlaskClient, tid: int, query: str, field: str
) -> None:
    response = client.get(f"/api/v1/therapists/{tid}/slots?{query}")
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert field in response.get_json()["errors"]


def test_slots_of_an_unknown_therapist_are_404(client: FlaskClient) -> None:
    response = client.get("/api/v1/therapists/999/slots?from=2026-12-03&to=2026-12-03")
    assert response.status_code == 404


def test_booking_returns_201_in_the_design_shape(
    client: FlaskClient, tid: int, client_headers: dict[str, str]
) -> None:
    me = client.get("/api/v1/me", headers=client_headers).get_json()
    response = post_booking(
        client, client_headers, therapist_id=tid, start="2026-12-03T10:00:00-05:00",
        setting="online",
    )  # fmt: skip
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert {k: body[k] for k in ("therapist_id", "client_id", "status", "start", "end")} == {
        "therapist_id": tid,
        "client_id": me["id"],
        "status": "confirmed",
        "start": THU_10,
        "end": "2026-12-03T15:50:00Z",
    }
    assert (body["setting"], body["fee_cents"], body["series_id"], body["late"]) == (
        "online",
        15000,  # the therapist's price for the standard band (no band chosen)
        None,
        False,
    )
    assert body["join_page"].endswith(f"/sessions/{body['id']}/join")
    again = client.get(f"/api/v1/bookings/{body['id']}", headers=client_headers).get_json()
    assert again == body


def test_taken_slot_is_409_problem_json_with_the_reason(
    client: FlaskClient, tid: int, client_headers: dict[str, str], make_user: Any, api_token: Any
) -> None:
    assert (
        post_booking(
            client, client_headers, therapist_id=tid, start=THU_10, setting="online"
        ).status_code
        == 201
    )
    other = api_token(make_user("client"))
    response = post_booking(client, other, therapist_id=tid, start=THU_10, setting="online")
    assert response.status_code == 409
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["reason"] == "taken"


@pytest.mark.parametrize(
    "start,reason",
    [
        ("2026-12-03T15:30:00Z", "outside_availability"),
        ("2026-12-01T20:00:00Z", "too_soon"),
        ("2027-02-15T15:00:00Z", "beyond_horizon"),
    ],
)
def test_times_not_offered_are_409_with_the_reason(
    client: FlaskClient, tid: int, client_headers: dict[str, str], start: str, reason: str
) -> None:
    response = post_booking(client, client_headers, therapist_id=tid, start=start, setting="online")
    assert response.status_code == 409
    assert response.get_json()["reason"] == reason


@pytest.mark.parametrize(
    "body,field",
    [
        ({"start": "2026-12-03T15:00:00", "setting": "online"}, "start"),
        ({"start": THU_10, "setting": "zoom"}, "setting"),
        ({"start": THU_10, "setting": "online", "repeat_weekly": 60}, "repeat_weekly"),
        ({"setting": "online"}, "start"),
    ],
)
def test_bad_booking_bodies_are_422(
    client: FlaskClient, tid: int, client_headers: dict[str, str], body: dict[str, Any], field: str
) -> None:
    response = post_booking(client, client_headers, therapist_id=tid, **body)
    assert response.status_code == 422
    assert field in response.get_json()["errors"]


def test_weekly_series_books_every_week_or_lists_every_conflict(
    client: FlaskClient, tid: int, client_headers: dict[str, str], make_user: Any, api_token: Any
) -> None:
    other = api_token(make_user("client"))
    post_booking(client, other, therapist_id=tid, start="2026-12-17T15:00:00Z", setting="online")
    response = post_booking(
        client, client_headers, therapist_id=tid, start=THU_10, setting="online", repeat_weekly=4
    )
    assert response.status_code == 409
    body = response.get_json()
    assert body["reason"] == "series_conflict"
    assert body["conflicts"] == [{"start": "2026-12-17T15:00:00Z", "reason": "taken"}]
    ok = post_booking(
        client, client_headers, therapist_id=tid, start=THU_11, setting="online", repeat_weekly=4
    )
    assert ok.status_code == 201
    occurrences = ok.get_json()["occurrences"]
    assert [o["start"] for o in occurrences] == [
        "2026-12-03T16:00:00Z",
        "2026-12-10T16:00:00Z",
        "2026-12-17T16:00:00Z",
        "2026-12-24T16:00:00Z",
    ]
    assert len({o["series_id"] for o in occurrences}) == 1


def test_idempotency_key_replays_the_first_booking(
    client: FlaskClient, tid: int, client_headers: dict[str, str]
) -> None:
    headers = {**client_headers, "Idempotency-Key": "retry-1"}
    first = post_booking(client, headers, therapist_id=tid, start=THU_10, setting="online")
    second = post_booking(client, headers, therapist_id=tid, start=THU_10, setting="online")
    assert first.status_code == second.status_code == 201
    assert second.get_json()["id"] == first.get_json()["id"]
    listed = client.get("/api/v1/bookings", headers=client_headers).get_json()["bookings"]
    assert len(listed) == 1
    different = post_booking(client, headers, therapist_id=tid, start=THU_11, setting="online")
    assert different.status_code == 422
    assert "idempotency_key" in different.get_json()["errors"]


def test_only_clients_book(client: FlaskClient, tid: int, therapist: Any, api_token: Any) -> None:
    body = {"therapist_id": tid, "start": THU_10, "setting": "online"}
    assert client.post("/api/v1/bookings", json=body).status_code == 401
    response = client.post("/api/v1/bookings", json=body, headers=api_token(therapist))
    assert response.status_code == 403


def test_parties_see_cancel_and_move_others_get_404(
    client: FlaskClient,
    tid: int,
    therapist: Any,
    client_headers: dict[str, str],
    make_user: Any,
    api_token: Any,
) -> None:
    booking = post_booking(
        client, client_headers, therapist_id=tid, start=THU_10, setting="online"
    ).get_json()
    url = f"/api/v1/bookings/{booking['id']}"
    stranger = api_token(make_user("client"))
    other_therapist = api_token(make_user("therapist"))
    for headers in (stranger, other_therapist):
        assert client.get(url, headers=headers).status_code == 404
        assert client.post(url + "/cancel", json={}, headers=headers).status_code == 404
        assert (
            client.post(url + "/reschedule", json={"start": THU_11}, headers=headers).status_code
            == 404
        )
    therapist_headers = api_token(therapist)
    listed = client.get("/api/v1/bookings", headers=therapist_headers).get_json()["bookings"]
    assert [b["id"] for b in listed] == [booking["id"]]
    moved = client.post(url + "/reschedule", json={"start": THU_11}, headers=client_headers)
    assert moved.status_code == 200
    new = moved.get_json()
    assert (new["start"], new["rescheduled_from_id"]) == (THU_11, booking["id"])
    assert client.get(url, headers=client_headers).get_json()["status"] == "cancelled"
    cancelled = client.post(
        f"/api/v1/bookings/{new['id']}/cancel",
        json={"reason": "Family emergency"},
        headers=therapist_headers,
    )
    assert cancelled.status_code == 200
    assert (cancelled.get_json()["status"], cancelled.get_json()["late"]) == ("cancelled", False)
    assert cancelled.get_json()["cancelled_by"] == "therapist"
    upcoming = client.get("/api/v1/bookings?when=upcoming", headers=client_headers).get_json()
    assert upcoming["bookings"] == []


def test_reschedule_to_a_taken_time_is_409_and_changes_nothing(
    client: FlaskClient, tid: int, client_headers: dict[str, str], make_user: Any, api_token: Any
) -> None:
    booking = post_booking(
        client, client_headers, therapist_id=tid, start=THU_10, setting="online"
    ).get_json()
    post_booking(client, api_token(make_user("client")), therapist_id=tid, start=THU_11,
                 setting="online")  # fmt: skip
    response = client.post(
        f"/api/v1/bookings/{booking['id']}/reschedule", json={"start": THU_11},
        headers=client_headers,
    )  # fmt: skip
    assert response.status_code == 409
    assert response.get_json()["reason"] == "taken"
    again = client.get(f"/api/v1/bookings/{booking['id']}", headers=client_headers).get_json()
    assert again == booking


def test_booking_routes_are_in_the_openapi_document(client: FlaskClient) -> None:
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for path in (
        "/api/v1/therapists/{therapist_id}/slots",
        "/api/v1/bookings",
        "/api/v1/bookings/{booking_id}",
        "/api/v1/bookings/{booking_id}/cancel",
        "/api/v1/bookings/{booking_id}/reschedule",
    ):
        assert path in paths
    post = paths["/api/v1/bookings"]["post"]
    assert any(p["name"] == "Idempotency-Key" for p in post["parameters"])


@pytest.mark.parametrize(
    "start,detail",
    [
        (
            "2026-12-03T15:30:00Z",
            "El terapeuta no ofrece una sesión en línea que empiece a esa hora.",
        ),
        (
            "2026-12-01T20:00:00Z",
            "Las sesiones se deben reservar con al menos 24 horas de anticipación.",
        ),
    ],
)
def test_a_refused_time_is_explained_in_the_person_s_language(
    client: FlaskClient, tid: int, make_user: Any, api_token: Any, start: str, detail: str
) -> None:
    spanish = api_token(make_user("client", language="es"))
    response = post_booking(client, spanish, therapist_id=tid, start=start, setting="online")
    assert response.status_code == 409
    assert response.get_json()["detail"] == detail
