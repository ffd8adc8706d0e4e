"""Session pages: slot picker in the client's zone, confirm, my sessions, cancel, reschedule,
the therapist's day and week, and the join page."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from teletherapy.extensions import db as _db
from teletherapy.gateways.video import VideoRooms
from teletherapy.models import Booking
from teletherapy.services import bookings as svc
from tests.booking_setup import set_availability

THU_10 = datetime(2026, 12, 3, 15, 0, tzinfo=UTC)  # Thu 10:00 New York, 9:00 Chicago
THU_10_Z = "2026-12-03T15:00:00Z"


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(autouse=True)
def clock(app: Flask, monkeypatch: Any, now: datetime) -> Clock:
    import teletherapy.web.bookings.pages as views
    import teletherapy.web.practice.schedule as schedule

    frozen = Clock(now)
    monkeypatch.setattr(views, "utcnow", frozen)
    monkeypatch.setattr(schedule, "utcnow", frozen)
    return frozen


@pytest.fixture
def therapist(make_user: Any) -> Any:
    return make_user("therapist", display_name="Dr Ana")


@pytest.fixture
def tid(therapist: Any) -> int:
    return set_availability(
        therapist,
        rules=[(3, "09:00", "12:00", "online"), (3, "13:00", "17:00", "in_office")],
    )


@pytest.fixture
def client_user(make_user: Any) -> Any:
    return make_user("client", display_name="Lin Chen", time_zone="America/Chicago")


def text(response: Any) -> str:
    return str(response.get_data(as_text=True))


def book_now(client_id: int, tid: int, now: datetime, start: datetime = THU_10, **kw: Any) -> Any:
    result = svc.book_session(
        client_id=client_id, therapist_id=tid, start=start, setting="online", now=now, **kw
    )
    return result.bookings if result.is_series else result.first


def test_slot_picker_shows_times_in_the_clients_zone_and_the_therapists(
    login: Any, client_user: Any, tid: int
) -> None:
    page = text(login(client_user).get(f"/sessions/book/{tid}?week=2026-12-01"))
    # The zones in words, not IANA names.
    assert "Times are shown in Central Time." in page
    assert "The therapist's own time (Eastern Time) is in brackets." in page
    # A month calendar beside the first day with openings (Tuesday the 1st has none).
    assert '<h2 id="month-title">December 2026</h2>' in page
    assert '<h2 id="day-title">Thursday, December 3, 2026</h2>' in page
    assert 'aria-current="date"' in page and 'aria-label="Next month"' in page
    assert '<span class="day">1<span class="visually-hidden"> no openings</span>' in page
    assert "9:00 am CST" in page and "(10:00 am EST)" in page
    assert f"start={THU_10_Z}&amp;setting=online" in page


def test_times_can_be_shown_in_another_zone(login: Any, client_user: Any, tid: int) -> None:
    page = text(
        login(client_user).get(f"/sessions/book/{tid}?day=2026-12-03&zone=America/Los_Angeles")
    )
    assert "Times are shown in Pacific Time." in page
    assert '<option value="America/Los_Angeles" selected>Pacific Time</option>' in page
    assert '<option value="America/Chicago" >Central Time (yours)</option>' in page
    assert "7:00 am PST" in page and "(10:00 am EST)" in page
    # Moving to another month keeps the zone.
    nxt = re.search(r'href="([^"]*month=2027-01[^"]*)"', page)
    assert nxt is not None and "zone=America/Los_Angeles" in nxt.group(1).replace("%2F", "/")
    assert login(client_user).get(f"/sessions/book/{tid}?zone=Nowhere/Else").status_code == 400


def test_setting_selector_filters_the_slots(login: Any, client_user: Any, tid: int) -> None:
    page = text(login(client_user).get(f"/sessions/book/{tid}?week=2026-12-01&setting=in_office"))
    assert "12:00 pm CST" in page  # 13:00 New York, in office
    assert "9:00 am CST" not in page
    assert '<option value="in_office" selected>' in page


def test_choosing_a_day_shows_its_times(login: Any, client_user: Any, tid: int) -> None:
    page = text(login(client_user).get(f"/sessions/book/{tid}?day=2026-12-10"))
    assert '<h2 id="day-title">Thursday, December 10, 2026</h2>' in page
    assert "2026-12-10T15:00:00Z" in page and "2026-12-03T15:00:00Z" not in page
    assert "Previous month" not in page  # nothing to go back to
    later = text(login(client_user).get(f"/sessions/book/{tid}?month=2027-01"))
    assert '<h2 id="month-title">January 2027</h2>' in later and "Previous month" in later


def test_confirm_then_see_it_in_my_sessions(
    login: Any, client_user: Any, tid: int, therapist: Any
) -> None:
    client = login(client_user)
    confirm_url = f"/sessions/book/{tid}/confirm?start={THU_10_Z}&setting=online"
    page = text(client.get(confirm_url))
    assert "Dr Ana" in page and "Thursday, December 3, 2026, 9:00 am CST" in page
    assert "Therapist's time: Thu, Dec 3, 10:00 am EST" in page
    key = re.search(r'name="request_key" type="hidden" value="([^"]+)"', page)
    assert key is not None
    form = {"start": THU_10_Z, "setting": "online", "repeat": "1", "request_key": key.group(1)}
    response = client.post(confirm_url, data=form)
    assert response.status_code == 302
    detail = text(client.get(response.headers["Location"]))
    assert "confirmed" in detail and "Your session is booked." in detail
    # A double-submitted form books once.
    assert client.post(confirm_url, data=form).headers["Location"] == response.headers["Location"]
    listing = text(client.get("/sessions"))
    upcoming = listing.split("Past and cancelled")[0]
    assert "Thu, Dec 3, 9:00 am CST" in upcoming and "Dr Ana" in upcoming
    assert "My sessions" in listing  # the nav link


def test_confirming_a_taken_slot_says_so(
    login: Any, client_user: Any, tid: int, make_user: Any, now: datetime
) -> None:
    book_now(make_user("client").id, tid, now)
    response = login(client_user).post(
        f"/sessions/book/{tid}/confirm",
        data={"start": THU_10_Z, "setting": "online", "repeat": "1"},
    )
    assert response.status_code == 409
    assert "no longer available" in text(response)
    assert _db.session.query(Booking).count() == 1


def test_weekly_repeat_books_the_series(
    login: Any, client_user: Any, tid: int, now: datetime
) -> None:
    response = login(client_user).post(
        f"/sessions/book/{tid}/confirm",
        data={"start": THU_10_Z, "setting": "online", "repeat": "4"},
    )
    assert response.status_code == 302
    assert len(svc.list_bookings_for(user_id=client_user.id, now=now, when="upcoming")) == 4


def test_cancel_page_warns_when_late_before_confirming(
    login: Any, client_user: Any, tid: int, clock: Clock
) -> None:
    booking = book_now(client_user.id, tid, clock.now)
    client = login(client_user)
    on_time = text(client.get(f"/sessions/{booking.id}/cancel"))
    assert "Cancelling now is free." in on_time
    clock.now = THU_10 - timedelta(hours=3)
    late = text(client.get(f"/sessions/{booking.id}/cancel"))
    assert "This is a late cancellation." in late and "24 hours" in late
    assert client.post(f"/sessions/{booking.id}/cancel", data={"scope": "one"}).status_code == 302
    cancelled = _db.session.get(Booking, booking.id)
    _db.session.refresh(cancelled)
    assert cancelled.status == "cancelled" and cancelled.is_late_cancellation


def test_therapist_cancels_with_a_reason_and_is_never_late(
    login: Any, client_user: Any, therapist: Any, tid: int, clock: Clock
) -> None:
    booking = book_now(client_user.id, tid, clock.now)
    clock.now = THU_10 - timedelta(hours=1)
    client = login(therapist)
    assert "never counted as late" in text(client.get(f"/sessions/{booking.id}/cancel"))
    client.post(f"/sessions/{booking.id}/cancel", data={"reason": "Ill", "scope": "one"})
    row = _db.session.get(Booking, booking.id)
    _db.session.refresh(row)
    assert (row.status, row.cancelled_by, row.cancel_reason) == ("cancelled", "therapist", "Ill")
    assert row.is_late_cancellation is False


def test_reschedule_picks_a_new_slot(login: Any, client_user: Any, tid: int, clock: Clock) -> None:
    booking = book_now(client_user.id, tid, clock.now)
    client = login(client_user)
    page = text(client.get(f"/sessions/{booking.id}/reschedule?week=2026-12-01"))
    assert 'value="2026-12-03T16:00:00Z"' in page
    assert f'value="{THU_10_Z}"' not in page  # its own time is not offered
    response = client.post(
        f"/sessions/{booking.id}/reschedule", data={"start": "2026-12-03T16:00:00Z"}
    )
    assert response.status_code == 302
    detail = text(client.get(response.headers["Location"]))
    assert "10:00 am CST" in detail


def test_reschedule_into_a_taken_slot_keeps_the_session(
    login: Any, client_user: Any, tid: int, make_user: Any, clock: Clock
) -> None:
    booking = book_now(client_user.id, tid, clock.now)
    book_now(make_user("client").id, tid, clock.now, THU_10 + timedelta(hours=1))
    response = login(client_user).post(
        f"/sessions/{booking.id}/reschedule", data={"start": "2026-12-03T16:00:00Z"}
    )
    assert response.status_code == 409
    assert "no longer available" in text(response)
    assert _db.session.get(Booking, booking.id).status == "confirmed"


def test_therapist_day_and_week_views_and_attendance(
    login: Any, client_user: Any, therapist: Any, tid: int, clock: Clock
) -> None:
    booking = book_now(client_user.id, tid, clock.now)
    client = login(therapist)
    week = text(client.get("/practice/sessions?view=week&date=2026-12-02"))
    assert "Lin Chen" in week and "10:00 am EST" in week and "Monday, November 30" in week
    day = text(client.get("/practice/sessions?view=day&date=2026-12-03"))
    assert "Lin Chen" in day and "Cancel" in day and "No-show" not in day
    assert "Lin Chen" not in text(client.get("/practice/sessions?view=day&date=2026-12-04"))
    clock.now = THU_10 + timedelta(minutes=55)
    day = text(client.get("/practice/sessions?view=day&date=2026-12-03"))
    assert "No-show" in day
    client.post(
        f"/practice/sessions/{booking.id}/attendance",
        data={"status": "completed", "next": "/practice/sessions?view=day&date=2026-12-03"},
    )
    row = _db.session.get(Booking, booking.id)
    _db.session.refresh(row)
    assert row.status == "completed"


def test_the_therapists_week_is_a_time_grid_with_hours_shaded_and_statuses_drawn(
    login: Any, client_user: Any, therapist: Any, tid: int, clock: Clock, make_user: Any
) -> None:
    booking = book_now(client_user.id, tid, clock.now)  # Thursday 10:00-10:50 New York
    other = book_now(make_user("client").id, tid, clock.now, THU_10 + timedelta(hours=1))
    svc.cancel_booking(booking_id=other.id, actor_id=therapist.id, now=clock.now)
    page = text(login(therapist).get("/practice/sessions?view=week&date=2026-12-02"))
    assert 'id="week-grid"' in page and 'class="schedule-legend"' in page
    # Quarter-hour rows from 8:00: 10:00 is row 9; 50 minutes cover 4 rows; Thursday column 4.
    assert f'class="block online upcoming c-4 r-9 s-4" href="/sessions/{booking.id}"' in page
    assert f'class="block online cancelled c-4 r-13 s-4" href="/sessions/{other.id}"' in page
    # Thursday's hours shaded by setting: 9-12 online, 13-17 in the office.
    assert 'class="hours online c-4 r-5 s-12"' in page
    assert 'class="hours in_office c-4 r-21 s-16"' in page
    # The day list stays, as the phone's layout.
    assert 'class="schedule-list"' in page and "Lin Chen" in page
    day = text(login(therapist).get("/practice/sessions?view=day&date=2026-12-03"))
    assert 'id="week-grid"' not in day


def test_join_opens_fifteen_minutes_before_only_for_the_parties(
    app: Flask,
    login: Any,
    client_user: Any,
    therapist: Any,
    tid: int,
    make_user: Any,
    clock: Clock,
) -> None:
    app.extensions["gateways"].video = VideoRooms("https://meet.example.org")
    booking = book_now(client_user.id, tid, clock.now)
    client = login(client_user)
    early = client.get(f"/sessions/{booking.id}/join")
    assert early.status_code == 200 and "opens at" in text(early)
    clock.now = THU_10 - timedelta(minutes=15)
    joined = client.get(f"/sessions/{booking.id}/join")
    assert joined.status_code == 302
    assert joined.headers["Location"] == f"https://meet.example.org/{booking.video_room}"
    client.post("/sign-out")
    assert login(therapist).get(f"/sessions/{booking.id}/join").status_code == 302
    client.post("/sign-out")
    assert login(make_user("client")).get(f"/sessions/{booking.id}/join").status_code == 404


@pytest.mark.parametrize(
    "path", ["/sessions", "/sessions/1", "/sessions/book/1", "/practice/sessions"]
)
def test_anonymous_visitors_are_sent_to_sign_in(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]


def test_roles_reach_only_their_pages(login: Any, therapist: Any, tid: int) -> None:
    client = login(therapist)
    assert client.get(f"/sessions/book/{tid}").status_code == 403
    assert "Schedule" in text(client.get("/sessions"))


def test_other_peoples_sessions_are_404(
    login: Any, client_user: Any, tid: int, make_user: Any, now: datetime
) -> None:
    booking = book_now(client_user.id, tid, now)
    client = login(make_user("client"))
    for suffix in ("", "/cancel", "/reschedule"):
        assert client.get(f"/sessions/{booking.id}{suffix}").status_code == 404


def test_a_cancelled_session_offers_no_cancel_or_move(
    login: Any, client_user: Any, tid: int, clock: Clock
) -> None:
    booking = book_now(client_user.id, tid, clock.now)
    svc.cancel_booking(booking_id=booking.id, actor_id=client_user.id, now=clock.now)
    client = login(client_user)
    detail = text(client.get(f"/sessions/{booking.id}"))
    assert "cancelled by the client" in detail and "Reschedule" not in detail
    for suffix in ("/cancel", "/reschedule"):
        response = client.get(f"/sessions/{booking.id}{suffix}")
        assert response.status_code == 302
        assert response.headers["Location"].endswith(f"/sessions/{booking.id}")
    assert client.post(f"/sessions/{booking.id}/cancel", data={"scope": "one"}).status_code == 302


def test_a_series_that_cannot_be_booked_lists_every_conflicting_week(
    login: Any, client_user: Any, tid: int, make_user: Any, now: datetime
) -> None:
    other = make_user("client").id
    book_now(other, tid, now, THU_10 + timedelta(weeks=1))
    book_now(other, tid, now, THU_10 + timedelta(weeks=2))
    response = login(client_user).post(
        f"/sessions/book/{tid}/confirm",
        data={"start": THU_10_Z, "setting": "online", "repeat": "4"},
    )
    assert response.status_code == 409
    page = text(response)
    assert "These weeks clash (times in Central Time):" in page
    assert "Thursday, December 10, 2026, 9:00 am CST — taken" in page
    assert "Thursday, December 17, 2026, 9:00 am CST — taken" in page
    # The free weeks, each bookable on its own.
    assert "2 weeks are free; you can book them one by one:" in page
    assert "Book Thursday, December 3, 2026, 9:00 am CST" in page
    assert "Book Thursday, December 24, 2026, 9:00 am CST" in page
    assert "nothing was booked" in page


def test_when_the_therapist_takes_cards_the_booking_is_held_and_the_client_pays(
    app: Flask, login: Any, client_user: Any, tid: int, therapist: Any
) -> None:
    from tests.payment_fakes import FakeGateway, accept

    app.config.update(STRIPE_SECRET_KEY="sk_test_x", STRIPE_PUBLISHABLE_KEY="pk_test_x")
    app.extensions["gateways"].payments = FakeGateway(card_behaviour={"pm_ok": "ok"})
    accept(therapist, "pay_now", "pay_at_session")
    client = login(client_user)
    confirm_url = f"/sessions/book/{tid}/confirm?start={THU_10_Z}&setting=online"
    key = re.search(
        r'name="request_key" type="hidden" value="([^"]+)"', text(client.get(confirm_url))
    )
    assert key is not None
    form = {"start": THU_10_Z, "setting": "online", "repeat": "1", "request_key": key.group(1)}
    response = client.post(confirm_url, data=form)
    assert response.status_code == 302
    assert "/payments/bookings/" in response.headers["Location"]
    [booking] = _db.session.scalars(select(Booking)).all()
    assert booking.status == "held" and booking.hold_expires_at is not None
    assert "pay" in text(client.get(response.headers["Location"])).lower()


def test_without_stripe_the_booking_is_confirmed_at_once(
    login: Any, client_user: Any, tid: int, therapist: Any
) -> None:
    from tests.payment_fakes import accept

    accept(therapist, "pay_now", "pay_at_session")  # cards are not configured here
    client = login(client_user)
    confirm_url = f"/sessions/book/{tid}/confirm?start={THU_10_Z}&setting=online"
    key = re.search(
        r'name="request_key" type="hidden" value="([^"]+)"', text(client.get(confirm_url))
    )
    assert key is not None
    form = {"start": THU_10_Z, "setting": "online", "repeat": "1", "request_key": key.group(1)}
    response = client.post(confirm_url, data=form)
    assert "/sessions/" in response.headers["Location"]
    assert _db.session.scalar(select(Booking.status)) == "confirmed"


def test_session_page_offers_ics_google_and_outlook_links(
    login: Any, client_user: Any, tid: int, now: datetime
) -> None:
    booking = book_now(client_user.id, tid, now)
    page = text(login(client_user).get(f"/sessions/{booking.id}"))
    assert "Download .ics" in page and "calendar.google.com" in page and "outlook" in page
    ics = login(client_user).get(f"/calendar/bookings/{booking.id}/invite.ics")
    assert ics.status_code == 200 and b"BEGIN:VCALENDAR" in ics.data
