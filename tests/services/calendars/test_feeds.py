"""Feed tokens (hash only, rotate, revoke) and the PUBLISH feed: own sessions, window, DST."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import icalendar
import pytest
from sqlalchemy import select

from teletherapy.domain.errors import NotFoundError
from teletherapy.models import CalendarFeedToken, User
from teletherapy.services.calendars import feeds as calendar_feeds
from teletherapy.services.messaging import preferences
from tests.booking_rows import add_booking, move
from tests.vobject_reading import read_calendar


def z(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


NOW = z("2027-03-01T12:00Z")


def token_of(url: str | None) -> str:
    assert url is not None
    return url.rsplit("/", 1)[1].removesuffix(".ics")


@pytest.fixture
def people(make_user: Callable[..., User]) -> dict[str, User]:
    return {
        "ana": make_user("therapist", display_name="Ana Rivera"),
        "ben": make_user("therapist", display_name="Ben Okafor"),
        "sam": make_user("client", display_name="Sam Lee"),
        "kim": make_user("client", display_name="Kim Park"),
    }


def test_a_feed_address_is_shown_once_and_only_its_hash_is_stored(db, people):
    sam = people["sam"]
    first = calendar_feeds.get_or_create_feed(user_id=sam.id, now=NOW)
    assert first.is_new and first.url and first.webcal_url
    assert first.url.startswith("http://testserver/feeds/") and first.url.endswith(".ics")
    assert first.webcal_url == "webcal://" + first.url.removeprefix("http://")
    token = token_of(first.url)
    assert len(token) >= 40
    [row] = db.session.scalars(select(CalendarFeedToken))
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    again = calendar_feeds.get_or_create_feed(user_id=sam.id, now=NOW)
    assert (again.is_new, again.url, again.webcal_url) == (False, None, None)
    assert again.created_at == first.created_at


def test_rotating_revokes_the_old_address_and_revoking_turns_the_feed_off(db, people):
    sam = people["sam"]
    old = token_of(calendar_feeds.get_or_create_feed(user_id=sam.id, now=NOW).url)
    new = token_of(calendar_feeds.rotate_feed(user_id=sam.id, now=NOW).url)
    assert new != old
    with pytest.raises(NotFoundError):
        calendar_feeds.feed_validators(token=old, now=NOW)
    calendar_feeds.build_feed_for_token(token=new, now=NOW)
    assert calendar_feeds.revoke_feed(user_id=sam.id, now=NOW) == 1
    for token in (old, new, "not-a-token"):
        with pytest.raises(NotFoundError):
            calendar_feeds.build_feed_for_token(token=token, now=NOW)
    assert calendar_feeds.find_feed(user_id=sam.id) is None


def uids(body: bytes) -> set[str]:
    return {str(e["UID"]) for e in icalendar.Calendar.from_ical(body).walk("VEVENT")}


def test_a_feed_holds_only_the_persons_own_sessions(db, people):
    ana, ben, sam, kim = people["ana"], people["ben"], people["sam"], people["kim"]
    mine = add_booking(db, ana, sam, z("2027-03-05T15:00Z"))
    with_ben = add_booking(db, ben, sam, z("2027-03-06T15:00Z"))
    other = add_booking(db, ana, kim, z("2027-03-07T15:00Z"))
    feeds = {
        name: token_of(calendar_feeds.get_or_create_feed(user_id=people[name].id, now=NOW).url)
        for name in ("ana", "sam", "kim")
    }

    def feed_uids(name: str) -> set[str]:
        return uids(calendar_feeds.build_feed_for_token(token=feeds[name], now=NOW)[0])

    assert feed_uids("sam") == {f"feed-booking-{b.id}@teletherapy" for b in (mine, with_ben)}
    assert feed_uids("ana") == {f"feed-booking-{b.id}@teletherapy" for b in (mine, other)}
    assert feed_uids("kim") == {f"feed-booking-{other.id}@teletherapy"}


def test_the_window_is_upcoming_and_30_days_back_with_recent_cancellations(db, people):
    ana, sam = people["ana"], people["sam"]
    old = add_booking(db, ana, sam, NOW - timedelta(days=40), status="completed")
    recent = add_booking(db, ana, sam, NOW - timedelta(days=20), status="completed")
    upcoming = add_booking(db, ana, sam, NOW + timedelta(days=100))
    held = add_booking(db, ana, sam, NOW + timedelta(days=3), status="held")
    cancelled = add_booking(db, ana, sam, NOW + timedelta(days=5), status="cancelled")
    cancelled.cancelled_at = NOW - timedelta(days=10)
    long_cancelled = add_booking(db, ana, sam, NOW + timedelta(days=6), status="cancelled")
    long_cancelled.cancelled_at = NOW - timedelta(days=31)
    db.session.commit()
    token = token_of(calendar_feeds.get_or_create_feed(user_id=sam.id, now=NOW).url)
    body, _, _ = calendar_feeds.build_feed_for_token(token=token, now=NOW)
    calendar = icalendar.Calendar.from_ical(body)
    status = {str(e["UID"]): str(e["STATUS"]) for e in calendar.walk("VEVENT")}
    assert status == {
        f"feed-booking-{recent.id}@teletherapy": "CONFIRMED",
        f"feed-booking-{upcoming.id}@teletherapy": "CONFIRMED",
        f"feed-booking-{cancelled.id}@teletherapy": "CANCELLED",
    }
    assert old.id and held.id  # present in the database, absent from the feed


def test_the_feed_is_a_named_publish_calendar_that_asks_to_be_refreshed(db, people):
    # A therapist's feed (named by default); a client's discreet one is tested below.
    token = token_of(calendar_feeds.get_or_create_feed(user_id=people["ana"].id, now=NOW).url)
    body, etag, last_modified = calendar_feeds.build_feed_for_token(token=token, now=NOW)
    calendar = icalendar.Calendar.from_ical(body)
    assert calendar["METHOD"] == "PUBLISH"
    assert str(calendar["X-WR-CALNAME"]) == "Teletherapy sessions"
    assert b"NAME:Teletherapy sessions" in body
    assert b"REFRESH-INTERVAL;VALUE=DURATION:PT1H" in body
    assert b"X-PUBLISHED-TTL:PT1H" in body
    assert etag and last_modified.tzinfo is not None


DST_STARTS = [z("2027-03-10T23:00Z"), z("2027-03-17T22:00Z")]  # 18:00 EST, then 18:00 EDT


def test_times_read_back_in_utc_across_dst_by_two_parsers(db, people):
    ana, sam = people["ana"], people["sam"]
    for start in DST_STARTS:
        add_booking(db, ana, sam, start)
    token = token_of(calendar_feeds.get_or_create_feed(user_id=sam.id, now=NOW).url)
    body, _, _ = calendar_feeds.build_feed_for_token(token=token, now=NOW)

    events = icalendar.Calendar.from_ical(body).walk("VEVENT")
    assert sorted(e["DTSTART"].dt.astimezone(UTC) for e in events) == DST_STARTS
    assert {e["DTSTART"].dt.astimezone(e["DTSTART"].dt.tzinfo).hour for e in events} == {18}
    parsed = read_calendar(body.decode())
    starts = sorted(v.dtstart.value.astimezone(UTC) for v in parsed.vevent_list)
    assert starts == DST_STARTS
    ends = sorted(v.dtend.value.astimezone(UTC) for v in parsed.vevent_list)
    assert ends == [s + timedelta(minutes=50) for s in DST_STARTS]
    assert all(date(2027, 3, 10) <= s.date() <= date(2027, 3, 18) for s in starts)


def test_text_follows_the_persons_choice(db, people):
    ana, sam = people["ana"], people["sam"]
    add_booking(db, ana, sam, z("2027-03-05T15:00Z"))
    tokens = {
        p.id: token_of(calendar_feeds.get_or_create_feed(user_id=p.id, now=NOW).url)
        for p in (ana, sam)
    }

    def summaries(user: User) -> set[str]:
        body, _, _ = calendar_feeds.build_feed_for_token(token=tokens[user.id], now=NOW)
        return {str(e["SUMMARY"]) for e in icalendar.Calendar.from_ical(body).walk("VEVENT")}

    assert summaries(sam) == {"Appointment"}
    assert summaries(ana) == {"Session with Sam Lee"}
    preferences.update_preferences(user_id=sam.id, calendar_detail="named")
    assert summaries(sam) == {"Session with Ana Rivera"}


def test_validators_change_with_the_sessions_and_not_otherwise(db, people):
    ana, sam = people["ana"], people["sam"]
    booking = add_booking(db, ana, sam, z("2027-03-05T15:00Z"))
    token = token_of(calendar_feeds.get_or_create_feed(user_id=sam.id, now=NOW).url)

    def etag() -> str:
        return calendar_feeds.feed_validators(token=token, now=NOW).etag

    first = etag()
    body, built_etag, _ = calendar_feeds.build_feed_for_token(token=token, now=NOW)
    assert built_etag == first == etag()
    assert calendar_feeds.build_feed_for_token(token=token, now=NOW)[0] == body
    move(booking, z("2027-03-06T15:00Z"))
    db.session.commit()
    second = etag()
    assert second != first
    add_booking(db, ana, people["kim"], z("2027-03-08T15:00Z"))  # not Sam's
    assert etag() == second
    preferences.update_preferences(user_id=sam.id, calendar_detail="named")
    assert etag() != second
    # A session leaving the 30-day window changes the feed, so the tag too.
    assert calendar_feeds.feed_validators(token=token, now=NOW + timedelta(days=40)).etag != etag()


def test_an_unchanged_feed_is_served_from_the_cache_and_rebuilt_after_a_change(
    db, people, monkeypatch
):
    ana, sam = people["ana"], people["sam"]
    booking = add_booking(db, ana, sam, z("2027-03-05T15:00Z"))
    token = token_of(calendar_feeds.get_or_create_feed(user_id=sam.id, now=NOW).url)
    body, etag, _ = calendar_feeds.build_feed_for_token(token=token, now=NOW)
    built: list[int] = []
    real_build = calendar_feeds.assemble_feed

    def counting_build(*args, **kwargs):
        built.append(1)
        return real_build(*args, **kwargs)

    monkeypatch.setattr(calendar_feeds, "assemble_feed", counting_build)
    assert calendar_feeds.build_feed_for_token(token=token, now=NOW) == (
        body,
        etag,
        calendar_feeds.feed_validators(token=token, now=NOW).last_modified,
    )
    assert built == []
    move(booking, z("2027-03-06T15:00Z"))
    db.session.commit()
    changed, new_etag, _ = calendar_feeds.build_feed_for_token(token=token, now=NOW)
    assert built == [1] and new_etag != etag and changed != body


def test_each_sessions_text_is_kept_and_only_a_changed_one_is_rendered_again(
    db, people, monkeypatch
):
    from teletherapy.gateways.ics import build_feed
    from teletherapy.models import BookingFeedText

    ana, sam = people["ana"], people["sam"]
    bookings = [
        add_booking(db, ana, sam, z("2027-03-05T15:00Z") + timedelta(days=i)) for i in range(4)
    ]
    preferences.update_preferences(user_id=ana.id, calendar_detail="named")
    token = token_of(calendar_feeds.get_or_create_feed(user_id=ana.id, now=NOW).url)
    first, _, _ = calendar_feeds.build_feed_for_token(token=token, now=NOW)
    kept = db.session.scalars(select(BookingFeedText)).all()
    assert sorted((k.booking_id, k.audience) for k in kept) == [
        (b.id, "therapist") for b in bookings
    ]
    rendered: list[int] = []
    real_render = calendar_feeds.render_feed_event

    def counting_render(event):
        rendered.append(1)
        return real_render(event)

    monkeypatch.setattr(calendar_feeds, "render_feed_event", counting_render)
    calendar_feeds.clear_feed_cache()
    assert calendar_feeds.build_feed_for_token(token=token, now=NOW)[0] == first
    assert rendered == []
    move(bookings[2], z("2027-03-20T15:00Z"))  # SEQUENCE rises
    db.session.commit()
    changed, _, _ = calendar_feeds.build_feed_for_token(token=token, now=NOW)
    assert rendered == [1]
    assert b"20270320T" in changed and changed != first
    # The same bytes as rendering every event afresh.
    events = icalendar.Calendar.from_ical(changed).walk("VEVENT")
    assert len(events) == 4 and all(e["SUMMARY"] == "Session with Sam Lee" for e in events)
    db.session.query(BookingFeedText).delete()
    db.session.commit()
    calendar_feeds.clear_feed_cache()
    assert calendar_feeds.build_feed_for_token(token=token, now=NOW)[0] == changed
    assert callable(build_feed)


def test_a_conditional_request_reads_one_row_and_any_change_of_the_feed_moves_its_tag(db, people):
    from sqlalchemy import event

    ana, sam = people["ana"], people["sam"]
    booking = add_booking(db, ana, sam, z("2027-03-05T15:00Z"))
    token = token_of(calendar_feeds.get_or_create_feed(user_id=sam.id, now=NOW).url)
    statements: list[str] = []

    def record(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        first = calendar_feeds.feed_validators(token=token, now=NOW).etag
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 1
    # A change flushed only by the commit itself stamps the feed too.
    booking.status = "cancelled"
    booking.cancelled_at = NOW
    db.session.commit()
    second = calendar_feeds.feed_validators(token=token, now=NOW).etag
    assert second != first
    db.session.get(User, sam.id).time_zone = "Europe/Madrid"
    db.session.commit()
    assert calendar_feeds.feed_validators(token=token, now=NOW).etag != second
    # The window moves once a day: the same day keeps the tag, the next day changes it.
    third = calendar_feeds.feed_validators(token=token, now=NOW).etag
    assert calendar_feeds.feed_validators(token=token, now=NOW + timedelta(hours=11)).etag == third
    assert calendar_feeds.feed_validators(token=token, now=NOW + timedelta(hours=13)).etag != third


def test_a_discreet_feed_says_nothing_about_therapy_all_the_way(db, people, app):
    ana, sam = people["ana"], people["sam"]
    app.config["CALENDAR_ORGANIZER_EMAIL"] = "calendar@example.org"
    add_booking(db, ana, sam, z("2027-03-05T15:00Z"))
    token = token_of(calendar_feeds.get_or_create_feed(user_id=sam.id, now=NOW).url)
    body, _, _ = calendar_feeds.build_feed_for_token(token=token, now=NOW)
    calendar = icalendar.Calendar.from_ical(body)
    assert str(calendar["X-WR-CALNAME"]) == "Appointments" and b"NAME:Appointments" in body
    [event] = calendar.walk("VEVENT")
    organizer = event["ORGANIZER"]
    assert str(organizer) == "mailto:calendar@example.org"
    assert organizer.params["CN"] == "Appointments"
    # What a calendar app shows: names, summary, text, place. (UIDs and PRODID are not shown.)
    shown = (
        " ".join(
            str(v)
            for v in (calendar["X-WR-CALNAME"], organizer, organizer.params["CN"], event["SUMMARY"])
        )
        + str(event.get("DESCRIPTION", ""))
        + str(event.get("LOCATION", ""))
    )
    for word in ("therap", "session with", "988", "crisis", "Rivera"):
        assert word.lower() not in shown.lower(), word


def test_a_therapist_may_show_clients_by_initials(db, people):
    ana, sam = people["ana"], people["sam"]
    add_booking(db, ana, sam, z("2027-03-05T15:00Z"))
    preferences.update_preferences(user_id=ana.id, calendar_detail="initials")
    token = token_of(calendar_feeds.get_or_create_feed(user_id=ana.id, now=NOW).url)
    body, _, _ = calendar_feeds.build_feed_for_token(token=token, now=NOW)
    [event] = icalendar.Calendar.from_ical(body).walk("VEVENT")
    assert str(event["SUMMARY"]) == "Session with S. L."
    assert b"Sam Lee" not in body


def test_initials() -> None:
    from teletherapy.domain.vocabularies import initials

    assert initials("Ana María Reyes") == "A. M. R."
    assert initials("李明") == "李."
    assert initials("  ") == ""


def test_sessions_at_the_same_start_keep_build_feeds_order_by_uid_text(db, people):
    """Two sessions at one start (a cancelled one and the one that took its place) come in
    the order of their UIDs as text, as build_feed orders them: 'feed-booking-10@' before
    'feed-booking-9@', whichever way the database sorts ids."""
    ana, sam = people["ana"], people["sam"]
    start = z("2027-03-05T15:00Z")
    first = add_booking(db, ana, sam, start, status="cancelled")
    first.cancelled_at = NOW
    db.session.commit()
    width = len(str(first.id))
    day = 1
    while True:  # fill until the next id has one more digit than the first one's
        filler = add_booking(db, ana, sam, start + timedelta(days=day), commit=False)
        day += 1
        if len(str(filler.id + 1)) > width:
            break
    db.session.commit()
    second = add_booking(db, ana, sam, start)
    assert second.id > first.id and f"{second.id}@" < f"{first.id}@"
    token = token_of(calendar_feeds.get_or_create_feed(user_id=ana.id, now=NOW).url)
    for _ in range(2):  # rendered afresh, then joined from the kept texts
        body, _, _ = calendar_feeds.build_feed_for_token(token=token, now=NOW)
        uids = [
            str(e["UID"]).split("@")[0] for e in icalendar.Calendar.from_ical(body).walk("VEVENT")
        ]
        assert len(uids) == day + 1
        assert uids[:2] == [f"feed-booking-{second.id}", f"feed-booking-{first.id}"]
        calendar_feeds.clear_feed_cache()
