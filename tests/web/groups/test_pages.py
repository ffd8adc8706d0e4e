"""Group pages: browse, see meetings in your own zone, take a seat or wait, create a group."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask, g
from flask.testing import FlaskClient

from teletherapy.models import TherapyGroup, User
from teletherapy.services import groups

# Two weeks ahead of the real clock (pages read it), at 23:00 UTC.
START = (datetime.now(UTC) + timedelta(days=14)).replace(hour=23, minute=0, second=0, microsecond=0)


@pytest.fixture(autouse=True)
def fresh_actor_per_request(app: Flask) -> None:
    """The test's app context (and so `g`) outlives requests; forget the cached caller."""

    def forget() -> None:
        g.pop("actor", None)
        g.pop("_login_user", None)

    app.before_request_funcs.setdefault(None, []).insert(0, forget)


def make_group(therapist: User, **overrides: Any) -> TherapyGroup:
    fields: dict[str, Any] = {
        "therapist_user_id": therapist.id,
        "title": "Newcomers' support circle",
        "modality": "group",
        "setting": "online",
        "capacity": 2,
        "fee_cents": 1500,
        "first_start": START,
        "duration_minutes": 90,
        "weekly_count": 3,
        "now": datetime.now(UTC),
        **overrides,
    }
    return groups.create_group(**fields)


def page(client: FlaskClient, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def test_anyone_sees_open_groups_with_seats_left_and_the_nav_link(
    client: FlaskClient, make_user: Any
) -> None:
    make_group(make_user("therapist", display_name="Dana Reyes"))
    assert 'href="/groups/"' in page(client, "/")
    html = page(client, "/groups/")
    assert "Newcomers&#39; support circle" in html
    assert "2 of 2 seats left" in html
    assert "with Dana Reyes" in html
    assert "$15 a meeting" in html


def test_meetings_are_shown_in_the_viewer_zone_with_the_zone_named(
    client: FlaskClient, make_user: Any, login: Any
) -> None:
    group = make_group(make_user("therapist"))
    login(make_user("client", time_zone="America/Los_Angeles"))
    html = page(client, f"/groups/{group.id}")
    local = START.astimezone(ZoneInfo("America/Los_Angeles"))
    assert "your time zone, Pacific Time" in html
    assert f"{local.hour % 12 or 12}:00 pm {local.tzname()}" in html
    assert "same local time in Eastern Time" in html
    assert html.count("<li>") >= 3


def test_a_client_takes_a_seat_and_then_sees_it(
    client: FlaskClient, make_user: Any, login: Any
) -> None:
    group = make_group(make_user("therapist"))
    login(make_user("client"))
    assert "Take a seat" in page(client, f"/groups/{group.id}")
    response = client.post(f"/groups/{group.id}/seat", follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "Your seat is booked" in html
    assert "You have a seat for every meeting" in html
    assert "Groups you belong to" in page(client, "/groups/")
    left = client.post(f"/groups/{group.id}/seat/leave", follow_redirects=True)
    assert "You have left the group" in left.get_data(as_text=True)
    assert groups.get_group(group.id).seats_taken == 0


def test_a_full_group_offers_the_waitlist(client: FlaskClient, make_user: Any, login: Any) -> None:
    group = make_group(make_user("therapist"))
    for _ in range(2):
        groups.take_seat(group_id=group.id, client_id=make_user("client").id, now=datetime.now(UTC))
    login(make_user("client"))
    html = page(client, f"/groups/{group.id}")
    assert "This group is full" in html and "Join the waitlist" in html
    refused = client.post(f"/groups/{group.id}/seat", follow_redirects=True)
    assert "This group is full. Join the waitlist" in refused.get_data(as_text=True)
    joined = client.post(f"/groups/{group.id}/waitlist", follow_redirects=True)
    assert "You are number 1 on the waitlist" in joined.get_data(as_text=True)
    gone = client.post(f"/groups/{group.id}/waitlist/leave", follow_redirects=True)
    assert "You have left the waitlist" in gone.get_data(as_text=True)


def form_data(**overrides: str) -> dict[str, str]:
    local = START.astimezone(ZoneInfo("America/New_York"))
    return {
        "title": "Spanish-speaking parents",
        "modality": "group",
        "setting": "online",
        "capacity": "6",
        "fee": "20.00",
        "first_date": local.date().isoformat(),
        "first_time": local.strftime("%H:%M"),
        "time_zone": "America/New_York",
        "duration_minutes": "90",
        "weekly_count": "4",
        "description": "",
        **overrides,
    }


def test_a_therapist_creates_a_group_from_the_form(
    client: FlaskClient, make_user: Any, login: Any
) -> None:
    therapist = make_user("therapist")
    login(therapist)
    form = page(client, "/groups/new")
    assert 'value="America/New_York"' in form
    response = client.post("/groups/new", data=form_data())
    assert response.status_code == 302
    (group,) = groups.list_groups(therapist_id=therapist.therapist.id)
    assert (group.capacity, group.fee_cents, group.starts_at) == (6, 2000, START)
    assert response.headers["Location"].endswith(f"/groups/{group.id}")
    assert len(groups.list_meetings([group.id])[group.id]) == 4


@pytest.mark.parametrize(
    "overrides,field_id,message",
    [
        ({"capacity": "1"}, "capacity", "Number must be between 2 and 15."),
        ({"time_zone": "Eastern"}, "time_zone", "Unknown time zone"),
        ({"duration_minutes": "5"}, "duration_minutes", "A meeting lasts 30 to 240 minutes."),
        ({"first_date": "2020-01-07"}, "first_date", "The first meeting must be in the future."),
    ],
)
def test_form_errors_appear_next_to_their_fields(
    client: FlaskClient,
    make_user: Any,
    login: Any,
    overrides: dict[str, str],
    field_id: str,
    message: str,
) -> None:
    login(make_user("therapist"))
    response = client.post("/groups/new", data=form_data(**overrides))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    error = html.split(f'id="{field_id}-error"', 1)[1].split("</p>", 1)[0]
    assert message in error
    assert groups.list_groups() == []


def test_a_clash_is_shown_next_to_the_date_with_the_clashing_meetings(
    client: FlaskClient, make_user: Any, login: Any
) -> None:
    therapist = make_user("therapist")
    make_group(therapist, first_start=START + timedelta(weeks=2))
    login(therapist)
    response = client.post("/groups/new", data=form_data())
    assert response.status_code == 422
    error = response.get_data(as_text=True).split('id="first_date-error"', 1)[1]
    clash = (START + timedelta(weeks=2)).astimezone(ZoneInfo("America/New_York"))
    assert "clash with your calendar" in error.split("</p>", 1)[0]
    assert clash.strftime("%b %-d") in error.split("</p>", 1)[0]


def test_the_therapist_sees_the_roster_by_first_name_and_clients_do_not(
    client: FlaskClient, make_user: Any, login: Any
) -> None:
    therapist = make_user("therapist")
    group = make_group(therapist)
    seated = make_user("client", display_name="Marisol Flores")
    groups.take_seat(group_id=group.id, client_id=seated.id, now=datetime.now(UTC))
    login(therapist)
    html = page(client, f"/groups/{group.id}")
    assert "1 client seated" in html and "<li>Marisol</li>" in html
    assert "Flores" not in html
    client.post("/sign-out")
    login(make_user("client"))
    assert "Marisol" not in page(client, f"/groups/{group.id}")


def test_only_therapists_create_groups(client: FlaskClient, make_user: Any, login: Any) -> None:
    anonymous = client.get("/groups/new")
    assert anonymous.status_code == 302 and "/sign-in" in anonymous.headers["Location"]
    login(make_user("client"))
    assert client.get("/groups/new").status_code == 403


def test_the_therapist_cancels_a_group_from_its_page(
    client: FlaskClient, make_user: Any, login: Any
) -> None:
    therapist = make_user("therapist")
    group = make_group(therapist)
    login(therapist)
    assert "Cancel this group" in page(client, f"/groups/{group.id}")
    response = client.post(f"/groups/{group.id}/cancel", follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "The group is cancelled" in html
    assert "Cancel this group" not in html
    assert groups.get_group(group.id).status == "cancelled"
