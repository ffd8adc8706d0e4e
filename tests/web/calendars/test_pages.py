"""Feed URLs over HTTP (ETag/304, rotate/revoke, parsers), feed API, .ics downloads, settings."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import icalendar
import pytest
import recurring_ical_events
from flask import g
from flask.testing import FlaskClient

from teletherapy.clock import utcnow
from teletherapy.models import User
from teletherapy.services.calendars import feeds as calendar_feeds
from teletherapy.services.messaging import preferences
from tests.booking_rows import add_booking, move
from tests.vobject_reading import read_calendar


def forget_actor() -> None:
    """The app fixture's app context outlives requests, and access.py caches the actor in g."""
    g.pop("actor", None)


def path_of(url: str) -> str:
    return url.removeprefix("http://testserver")


@pytest.fixture
def pair(make_user: Callable[..., User]) -> tuple[User, User]:
    return (
        make_user("therapist", display_name="Ana Rivera"),
        make_user("client", display_name="Sam Lee"),
    )


def dst_week_starts() -> list[datetime]:
    """18:00 New York on the Wednesdays around next year's March change (EST, then EDT)."""
    year = utcnow().year + 1
    first = datetime(year, 3, 1, tzinfo=UTC)
    second_sunday = first + timedelta(days=(6 - first.weekday()) % 7 + 7)
    before = second_sunday - timedelta(days=4)  # the Wednesday before the change
    return [
        before.replace(hour=23),  # 18:00 EST = 23:00Z
        (before + timedelta(days=7)).replace(hour=22),  # 18:00 EDT = 22:00Z
    ]


def feed_path(client: Any, user: User, api_token: Callable[[User], dict[str, str]]) -> str:
    response = client.get("/api/v1/me/calendar-feed", headers=api_token(user))
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["is_new"] is True
    assert body["webcal_url"] == "webcal://" + body["url"].removeprefix("http://")
    return path_of(body["url"])


def test_feed_is_served_publicly_with_validators_and_parses_across_dst(db, client, pair, api_token):
    therapist, sam = pair
    starts = dst_week_starts()
    for start in starts:
        add_booking(db, therapist, sam, start)
    path = feed_path(client, sam, api_token)
    response = client.get(path)  # no sign-in: the token is the secret
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    assert response.headers["ETag"] and response.headers["Last-Modified"]
    assert "private" in response.headers["Cache-Control"]
    body = response.data
    assert icalendar.Calendar.from_ical(body)["METHOD"] == "PUBLISH"
    found = recurring_ical_events.of(icalendar.Calendar.from_ical(body)).between(
        starts[0] - timedelta(days=1), starts[1] + timedelta(days=1)
    )
    assert sorted(e["DTSTART"].dt.astimezone(UTC) for e in found) == starts
    parsed = read_calendar(body.decode())
    assert sorted(v.dtstart.value.astimezone(UTC) for v in parsed.vevent_list) == starts
    assert {v.dtstart.value.hour for v in parsed.vevent_list} == {18}


def test_unchanged_feed_answers_304_without_being_built(db, client, pair, api_token, monkeypatch):
    therapist, sam = pair
    booking = add_booking(db, therapist, sam, utcnow() + timedelta(days=3))
    path = feed_path(client, sam, api_token)
    first = client.get(path)
    etag, last_modified = first.headers["ETag"], first.headers["Last-Modified"]

    def must_not_build(**_: Any) -> Any:
        raise AssertionError("the feed was rebuilt for a conditional request")

    monkeypatch.setattr(calendar_feeds, "build_feed_for_token", must_not_build)
    by_etag = client.get(path, headers={"If-None-Match": etag})
    assert by_etag.status_code == 304 and by_etag.data == b""
    assert by_etag.headers["ETag"] == etag
    by_date = client.get(path, headers={"If-Modified-Since": last_modified})
    assert by_date.status_code == 304
    monkeypatch.undo()

    move(booking, booking.start_at + timedelta(hours=2))
    db.session.commit()
    changed = client.get(path, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert client.get(path, headers={"If-None-Match": '"something-else"'}).status_code == 200


def test_rotated_and_revoked_feeds_are_404(db, client, pair, api_token):
    _, sam = pair
    headers = api_token(sam)
    old = feed_path(client, sam, lambda _user: headers)
    again = client.get("/api/v1/me/calendar-feed", headers=headers).get_json()
    assert (again["url"], again["is_new"]) == (None, False)
    rotated = client.post("/api/v1/me/calendar-feed/rotate", headers=headers)
    assert rotated.status_code == 200
    new = path_of(rotated.get_json()["url"])
    assert client.get(old).status_code == 404
    assert client.get(new).status_code == 200
    assert client.delete("/api/v1/me/calendar-feed", headers=headers).status_code == 204
    assert client.get(new).status_code == 404
    assert client.get("/feeds/made-up-token.ics").status_code == 404


def test_feed_api_needs_a_bearer_token(client):
    assert client.get("/api/v1/me/calendar-feed").status_code == 401
    assert client.post("/api/v1/me/calendar-feed/rotate").status_code == 401


def test_invite_download_is_for_the_parties_only(db, client, pair, api_token, make_user):
    therapist, sam = pair
    stranger = make_user("client")
    booking = add_booking(db, therapist, sam, utcnow() + timedelta(days=3))
    for person in (therapist, sam):
        forget_actor()
        path = f"/api/v1/bookings/{booking.id}/invite.ics"
        response = client.get(path, headers=api_token(person))
        assert response.status_code == 200
        assert response.mimetype == "text/calendar"
        assert "attachment" in response.headers["Content-Disposition"]
        calendar = icalendar.Calendar.from_ical(response.data)
        assert calendar["METHOD"] == "REQUEST"
        [event] = calendar.walk("VEVENT")
        assert str(event["UID"]) == f"booking-{booking.id}@teletherapy"
    for path in (f"/api/v1/bookings/{booking.id}/invite.ics", "/api/v1/bookings/999/invite.ics"):
        forget_actor()
        response = client.get(path, headers=api_token(stranger))
        assert response.status_code == 404
        assert response.mimetype == "application/problem+json"


def test_booking_page_links_download_and_add_to_calendar(db, app, client, pair, login):
    from flask import render_template

    from teletherapy.services.calendars.invites import calendar_links

    therapist, sam = pair
    booking = add_booking(db, therapist, sam, utcnow() + timedelta(days=3))
    links = calendar_links(booking_id=booking.id, user_id=sam.id, now=utcnow())
    assert links.google_url.startswith("https://calendar.google.com/calendar/render?")
    assert "Appointment" in links.google_url and "Sam" not in links.google_url
    assert links.outlook_url.startswith("https://outlook.live.com/")
    with app.test_request_context():
        html = render_template("_partials/calendar_links.html", calendar_links=links)
    assert "Download .ics" in html and "Add to Google Calendar" in html and "Add to Outlook" in html
    forget_actor()
    login(sam)
    download = client.get(links.ics_url)
    assert download.status_code == 200
    assert icalendar.Calendar.from_ical(download.data)["METHOD"] == "REQUEST"


def test_calendar_settings_page_creates_rotates_and_revokes_the_feed(db, pair, login):
    _, sam = pair
    browser: FlaskClient = login(sam)
    page = browser.get("/calendar/settings")
    assert page.status_code == 200 and b"Create my feed address" in page.data
    created = browser.post("/calendar/feed")
    text = created.get_data(as_text=True)
    assert "http://testserver/feeds/" in text and "webcal://testserver/feeds/" in text
    start = text.index("http://testserver/feeds/")
    first = path_of(text[start : text.index(".ics", start) + 4])
    assert browser.get(first).status_code == 200
    # Shown once: the page cannot show it again.
    assert "http://testserver/feeds/" not in browser.get("/calendar/settings").get_data(True)
    rotated = browser.post("/calendar/feed/rotate").get_data(as_text=True)
    assert first not in rotated and "http://testserver/feeds/" in rotated
    assert browser.get(first).status_code == 404
    browser.post("/calendar/feed/revoke")
    assert b"Create my feed address" in browser.get("/calendar/settings").data


def test_calendar_settings_save_preferences_and_show_errors_next_to_the_field(db, pair, login):
    _, sam = pair
    browser = login(sam)
    page = browser.get("/calendar/settings").get_data(as_text=True)
    assert 'value="1440, 60"' in page
    bad = browser.post(
        "/calendar/settings",
        data={"calendar_detail": "named", "reminders_enabled": "y",
              "reminder_offsets_minutes": "1440, 2"},
    )  # fmt: skip
    assert bad.status_code == 422
    text = bad.get_data(as_text=True)
    assert 'id="reminder_offsets_minutes-error"' in text and "outside 5..20160" in text
    assert preferences.get_preferences(sam).calendar_detail == "discreet"  # nothing changed
    worded = browser.post(
        "/calendar/settings", data={"calendar_detail": "named", "reminder_offsets_minutes": "soon"}
    )
    assert worded.status_code == 422 and "not a whole number" in worded.get_data(as_text=True)
    good = browser.post(
        "/calendar/settings",
        data={"calendar_detail": "named", "reminder_offsets_minutes": "120 30"},
    )
    assert good.status_code == 200
    saved = preferences.get_preferences(sam)
    assert saved == preferences.Preferences((120, 30), False, "named")


def test_creating_or_rotating_the_feed_leaves_reminder_preferences_as_they_were(db, pair, login):
    _, sam = pair
    browser = login(sam)
    preferences.update_preferences(
        user_id=sam.id,
        reminder_offsets_minutes=(120, 30),
        reminders_enabled=True,
        calendar_detail="named",
    )
    before = preferences.get_preferences(sam)
    for path in ("/calendar/feed", "/calendar/feed/rotate"):
        page = browser.post(path).get_data(as_text=True)
        assert 'value="120, 30"' in page
        assert '<input checked id="reminders_enabled"' in page
        assert preferences.get_preferences(sam) == before


def test_calendar_settings_need_sign_in(client):
    response = client.get("/calendar/settings")
    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]


def test_preferences_api_reads_and_changes_them_all_or_nothing(db, client, pair, api_token):
    therapist, _ = pair
    headers = api_token(therapist)
    path = "/api/v1/me/notification-preferences"
    assert client.get(path, headers=headers).get_json() == {
        "reminder_offsets_minutes": [1440, 60],
        "reminders_enabled": True,
        "calendar_detail": "named",
    }
    bad = client.put(
        path, headers=headers, json={"reminder_offsets_minutes": [3], "calendar_detail": "discreet"}
    )
    assert bad.status_code == 422
    assert bad.mimetype == "application/problem+json"
    assert "reminder_offsets_minutes" in bad.get_json()["errors"]
    assert client.get(path, headers=headers).get_json()["calendar_detail"] == "named"
    good = client.put(path, headers=headers, json={"reminder_offsets_minutes": [30, 2880]})
    assert good.status_code == 200
    assert good.get_json()["reminder_offsets_minutes"] == [2880, 30]
    assert client.put(path, headers=headers, json={"calendar_detail": "loud"}).status_code == 422
