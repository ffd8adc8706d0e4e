"""Practice pages: the dashboard, and a therapist editing availability in the browser."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from teletherapy.services.availability.rules import get_availability

FORM: dict[str, str] = {
    "time_zone": "America/Chicago",
    "session_minutes": "45",
    "buffer_minutes": "15",
    "travel_buffer_minutes": "20",
    "min_notice_hours": "12",
    "horizon_days": "30",
    "max_per_day": "6",
    "max_per_week": "",
    "cancellation_window_hours": "48",
    "accepting_new_clients": "on",
    "weekly-0-weekday": "0",
    "weekly-0-start": "09:00",
    "weekly-0-end": "12:00",
    "weekly-0-setting": "in_office",
    "weekly-1-weekday": "0",
    "weekly-1-start": "13:00",
    "weekly-1-end": "17:00",
    "weekly-1-setting": "online",
    "weekly-2-weekday": "2",  # an empty line: skipped
    "weekly-2-start": "",
    "weekly-2-end": "",
    "weekly-2-setting": "online",
    "override-0-date": "2026-12-31",
    "override-0-kind": "hours",
    "override-0-start": "10:00",
    "override-0-end": "13:00",
    "override-0-setting": "home",
    "vacation_from": "2026-12-24",
    "vacation_to": "2026-12-26",
}


def test_therapist_nav_and_home_lead_to_the_practice(
    client: FlaskClient, make_user: Any, login: Any
) -> None:
    login(make_user("therapist"))
    home = client.get("/").get_data(as_text=True)
    assert 'href="/practice/"' in home
    page = client.get("/practice/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Manage my practice" in html and 'href="/practice/availability"' in html
    assert "have not said when you work" in html


def test_signed_out_visitors_are_sent_to_sign_in(client: FlaskClient) -> None:
    response = client.get("/practice/availability")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/sign-in")


def test_the_practice_is_for_therapists_only(
    client: FlaskClient, make_user: Any, login: Any
) -> None:
    login(make_user("client"))
    assert client.get("/practice/availability").status_code == 403
    assert client.get("/practice/").status_code == 403


def test_therapist_edits_availability_through_the_page(
    client: FlaskClient, make_user: Any, login: Any
) -> None:
    therapist = make_user("therapist")
    login(therapist)
    form = client.get("/practice/availability").get_data(as_text=True)
    assert 'name="weekly-0-start"' in form and 'name="override-0-date"' in form
    response = client.post("/practice/availability", data=FORM)
    assert response.status_code == 302, response.get_data(as_text=True)
    saved = get_availability(therapist_id=therapist.therapist_id)
    assert saved["time_zone"] == "America/Chicago"
    assert (saved["session_minutes"], saved["buffer_minutes"]) == (45, 15)
    assert (saved["travel_buffer_minutes"], saved["min_notice_hours"]) == (20, 12)
    assert (saved["horizon_days"], saved["cancellation_window_hours"]) == (30, 48)
    assert (saved["max_per_day"], saved["max_per_week"]) == (6, None)
    assert saved["accepting_new_clients"] is True
    assert saved["weekly"] == [
        {"weekday": 0, "start": "09:00", "end": "12:00", "setting": "in_office"},
        {"weekday": 0, "start": "13:00", "end": "17:00", "setting": "online"},
    ]
    assert saved["overrides"] == [
        {"date": "2026-12-24", "available": False},
        {"date": "2026-12-25", "available": False},
        {"date": "2026-12-26", "available": False},
        {"date": "2026-12-31", "start": "10:00", "end": "13:00", "setting": "home"},
    ]
    page = client.get("/practice/availability").get_data(as_text=True)
    assert "Your availability is saved." in page
    assert '<option value="America/Chicago" selected>Central Time (Chicago)</option>' in page
    dashboard = client.get("/practice/").get_data(as_text=True)
    assert "You work 2 weekly windows in Central Time;" in dashboard
    assert 'value="13:00"' in page and 'value="2026-12-25"' in page
    # The saved week as a picture: Monday 9-12 in the office, 13-17 online (rows from 8:00).
    assert 'id="week-picture"' in page
    assert 'class="block in_office c-1 r-5 s-12"' in page
    assert 'class="block online c-1 r-21 s-16"' in page
    assert 'class="rows-table weekly-table"' in page  # one card per line on a phone

    # Removing a line, the accepting switch off, and day off instead of hours.
    changed = {
        **client_form_from(saved),
        "weekly-1-remove": "1",
        "override-3-kind": "off",
    }
    changed.pop("accepting_new_clients")
    assert client.post("/practice/availability", data=changed).status_code == 302
    again = get_availability(therapist_id=therapist.therapist_id)
    assert again["weekly"] == saved["weekly"][:1]
    assert again["overrides"][-1] == {"date": "2026-12-31", "available": False}
    assert again["accepting_new_clients"] is False


def client_form_from(saved: dict[str, Any]) -> dict[str, str]:
    """The form fields the page would post back for `saved`."""
    data = {
        key: "" if saved[key] is None else str(saved[key])
        for key in FORM
        if "-" not in key and key in saved
    }
    data["accepting_new_clients"] = "on"
    for n, rule in enumerate(saved["weekly"]):
        for key in ("weekday", "start", "end", "setting"):
            data[f"weekly-{n}-{key}"] = str(rule[key])
    for n, item in enumerate(saved["overrides"]):
        data[f"override-{n}-date"] = item["date"]
        data[f"override-{n}-kind"] = "off" if item.get("available") is False else "hours"
        for key in ("start", "end", "setting"):
            data[f"override-{n}-{key}"] = item.get(key) or ""
    return data


def test_errors_are_shown_next_to_their_fields_and_nothing_is_saved(
    client: FlaskClient, make_user: Any, login: Any
) -> None:
    therapist = make_user("therapist")
    login(therapist)
    before = get_availability(therapist_id=therapist.therapist_id)
    bad = {
        **FORM,
        "time_zone": "US/Central",
        "session_minutes": "5",
        "weekly-1-start": "11:00",  # overlaps line 0 (09:00-12:00) on Monday
        "override-0-end": "09:00",  # before its start
    }
    response = client.post("/practice/availability", data=bad)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Nothing was saved" in html
    assert 'id="time_zone-error"' in html and "America/Chicago" in html
    assert 'id="session_minutes-error"' in html
    assert 'id="weekly-1-start-error"' in html
    assert "Overlaps Monday 09:00-12:00" in html  # the line, not "weekly[0]"
    assert 'id="override-0-end-error"' in html
    assert 'aria-invalid="true" aria-describedby="weekly-1-start-error"' in html
    assert 'value="US/Central"' in html  # what was typed is kept
    assert get_availability(therapist_id=therapist.therapist_id) == before


def test_a_bad_vacation_range_is_refused_next_to_its_fields(
    client: FlaskClient, make_user: Any, login: Any
) -> None:
    therapist = make_user("therapist")
    login(therapist)
    response = client.post(
        "/practice/availability",
        data={**FORM, "vacation_from": "2026-12-26", "vacation_to": "2026-12-20"},
    )
    assert response.status_code == 422
    assert 'id="vacation_to-error"' in response.get_data(as_text=True)
    assert get_availability(therapist_id=therapist.therapist_id)["weekly"] == []
