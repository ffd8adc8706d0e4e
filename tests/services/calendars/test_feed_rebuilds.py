"""Feed rebuilds from kept event texts: the same bytes as a build from scratch, whatever
changed in between, and on PostgreSQL only the changed bookings leave the server."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, event, func

from teletherapy.models import Booking, BookingFeedText, User
from teletherapy.services.calendars import feeds as calendar_feeds
from teletherapy.services.messaging import preferences
from tests.booking_rows import add_booking, move

NOW = datetime(2027, 3, 1, 12, tzinfo=UTC)
NAMES = ["Sam Lee", "Zoë Ürgüç-Şahin", "李明 王", "  ", "Ana María Reyes", "O'Neil & Søn"]
ZONES = ["America/New_York", "Europe/London", "Asia/Kolkata", "UTC", "Australia/Lord_Howe"]


def token_of(url: str | None) -> str:
    assert url is not None
    return url.rsplit("/", 1)[1].removesuffix(".ics")


@pytest.fixture
def people(make_user: Callable[..., User]) -> dict[str, User]:
    return {
        "ana": make_user("therapist", display_name="Ana Rivera"),
        "sam": make_user("client", display_name="Sam Lee"),
        "kim": make_user("client", display_name="Kim Park"),
    }


def build(token: str) -> bytes:
    calendar_feeds.clear_feed_cache()
    return calendar_feeds.build_feed_for_token(token=token, now=NOW)[0]


def from_scratch(db: Any, token: str) -> bytes:
    """Every event rendered afresh: nothing kept."""
    db.session.execute(delete(BookingFeedText))
    db.session.commit()
    return build(token)


@pytest.mark.parametrize("viewer", ["ana", "sam"])
def test_a_rebuild_after_random_changes_is_the_same_bytes_as_a_build_from_scratch(
    db, people, viewer, monkeypatch
):
    rng = random.Random(f"feeds-{viewer}")
    ana, sam, kim = people["ana"], people["sam"], people["kim"]
    owner = people[viewer]
    slots = iter(range(10_000))  # each start used once: no two sessions overlap

    def free_start() -> datetime:
        return NOW - timedelta(days=20) + timedelta(hours=5 * next(slots))

    bookings = [add_booking(db, ana, rng.choice([sam, kim]), free_start()) for _ in range(12)]
    bookings.append(add_booking(db, ana, None, free_start()))  # a group's own row
    # Names shown to start with (a client's feed is discreet unless they choose otherwise).
    preferences.update_preferences(user_id=owner.id, calendar_detail="named")
    token = token_of(calendar_feeds.get_or_create_feed(user_id=owner.id, now=NOW).url)
    rendered: list[int] = []
    real_render = calendar_feeds.render_feed_event

    def counting_render(event_: Any) -> bytes:
        rendered.append(1)
        return real_render(event_)

    monkeypatch.setattr(calendar_feeds, "render_feed_event", counting_render)
    assert build(token) == from_scratch(db, token)

    def touch(booking: Booking) -> Booking:
        booking.ics_sequence += 1
        return booking

    def new_booking() -> set[int]:
        made = add_booking(db, ana, rng.choice([sam, kim]), free_start(), commit=False)
        made.setting = rng.choice(["online", "in_office", "home"])
        bookings.append(made)
        return {made.id}

    def cancel() -> set[int]:
        booking = touch(rng.choice(bookings))
        booking.status, booking.cancelled_at = "cancelled", NOW - timedelta(days=1)
        return {booking.id}

    def reschedule() -> set[int]:
        booking = touch(move(rng.choice(bookings), free_start()))
        return {booking.id}

    def complete() -> set[int]:
        booking = rng.choice(bookings)
        booking.status = rng.choice(
            [s for s in ("completed", "no_show", "confirmed") if s != booking.status]
        )
        return {booking.id}

    def rename_the_other_party() -> None:
        if owner is ana:
            rng.choice([sam, kim]).display_name = rng.choice(NAMES)
        else:
            assert ana.therapist is not None
            ana.therapist.display_name = rng.choice(NAMES)

    def change_zone() -> None:
        owner.time_zone = rng.choice(ZONES)

    def change_detail() -> None:
        details = ["named", "discreet"] + (["initials"] if owner is ana else [])
        preferences.update_preferences(user_id=owner.id, calendar_detail=rng.choice(details))

    booking_changes = [new_booking, cancel, reschedule, complete]
    shared_changes = [rename_the_other_party, change_zone, change_detail]
    for _ in range(25):
        touched: set[int] = set()
        only_bookings = rng.random() < 0.6
        for _ in range(rng.randint(1, 3)):
            if only_bookings:
                touched |= booking_changes[rng.randrange(len(booking_changes))]()
            else:
                rng.choice(booking_changes + shared_changes)()
        db.session.commit()
        rendered.clear()
        rebuilt = build(token)
        if only_bookings:  # the rest comes from the kept texts
            mine = {b.id for b in bookings if owner is ana or b.client_id == owner.id}
            assert len(rendered) == len(touched & mine)
        assert rebuilt == from_scratch(db, token)
        assert rebuilt.count(b"BEGIN:VEVENT") == len(
            [b for b in bookings if owner is ana or b.client_id == owner.id]
        )


def test_on_postgresql_a_rebuild_after_one_change_reads_one_booking_row(db, people):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite compares the names' digests in Python: a light row per booking")
    ana, sam = people["ana"], people["sam"]
    start = NOW + timedelta(days=1)
    bookings = [add_booking(db, ana, sam, start + timedelta(hours=2 * i)) for i in range(30)]
    token = token_of(calendar_feeds.get_or_create_feed(user_id=ana.id, now=NOW).url)
    first = build(token)
    sam.display_name = "Samuel Lee"  # the other party's name: every event's text changes
    db.session.commit()
    renamed = build(token)
    assert renamed.count(b"Session with Samuel Lee") == 30 and renamed != first
    bookings[7].ics_sequence += 1
    db.session.commit()
    counts: list[tuple[str, int]] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT"):
            counts.append((statement, cursor.rowcount))

    event.listen(db.engine, "after_cursor_execute", record)
    try:
        changed = build(token)
    finally:
        event.remove(db.engine, "after_cursor_execute", record)
    assert [n for s, n in counts if "bookings" in s] and all(n <= 1 for _, n in counts), counts
    assert changed.count(b"BEGIN:VEVENT") == 30 and b"SEQUENCE:1" in changed
    assert changed == from_scratch(db, token)


def test_a_new_name_moves_the_tag_of_every_feed_that_shows_it(db, people, make_user):
    """The therapist's feed names the client, the client's feed the therapist: a new name
    on either side is a new feed on the other (a conditional request gets 200, not 304)."""
    from teletherapy.services.accounts.users import AccountChanges, update_account

    everyone = {**people, "ben": make_user("therapist", display_name="Ben Okafor")}
    ana, sam = people["ana"], people["sam"]
    add_booking(db, ana, sam, NOW + timedelta(days=2))
    preferences.update_preferences(user_id=sam.id, calendar_detail="named")
    feeds = {
        who: token_of(calendar_feeds.get_or_create_feed(user_id=person.id, now=NOW).url)
        for who, person in everyone.items()
    }

    def tags() -> dict[str, str]:
        return {
            who: calendar_feeds.feed_validators(token=token, now=NOW).etag
            for who, token in feeds.items()
        }

    before = tags()
    update_account(user_id=sam.id, changes=AccountChanges(display_name="Samuel Lee"))
    after_client = tags()
    # Sam's own feed (his account changed) and Ana's (she has a session with him).
    assert {w for w in before if before[w] != after_client[w]} == {"ana", "sam"}
    assert b"Session with Samuel Lee" in build(feeds["ana"])
    update_account(user_id=ana.id, changes=AccountChanges(display_name="Ana R. Rivera"))
    after_therapist = tags()
    assert {w for w in before if after_client[w] != after_therapist[w]} == {"ana", "sam"}
    assert b"Session with Ana R. Rivera" in build(feeds["sam"])
    unchanged = tags()
    update_account(user_id=ana.id, changes=AccountChanges(display_name="Ana R. Rivera"))
    assert tags()["sam"] == unchanged["sam"]  # the same name again: nothing new to show


def test_kept_fingerprints_hold_a_keyed_digest_of_the_name_the_same_in_sql(db, people):
    """An initials-only feed keeps no full name: not the name, not its plain md5 (a list of
    names would find it again); PostgreSQL's digest is the one made in Python."""
    import hashlib

    from sqlalchemy import literal, select

    from teletherapy.models import BookingFeedText

    ana, sam = people["ana"], people["sam"]
    add_booking(db, ana, sam, NOW + timedelta(days=2))
    preferences.update_preferences(user_id=ana.id, calendar_detail="initials")
    body = build(token_of(calendar_feeds.get_or_create_feed(user_id=ana.id, now=NOW).url))
    assert b"S. L." in body and b"Sam Lee" not in body
    [fingerprint] = db.session.scalars(select(BookingFeedText.fingerprint)).all()
    key = calendar_feeds._name_key()
    plain = hashlib.md5(b"Sam Lee", usedforsecurity=False).hexdigest()
    assert "Sam Lee" not in fingerprint and plain[:8] not in fingerprint
    assert fingerprint.endswith(":" + calendar_feeds._name_digest(key, "Sam Lee"))
    if db.engine.dialect.name == "postgresql":
        for name in ("Sam Lee", "Zoë Ürgüç-Şahin", "李明 王"):
            in_sql = db.session.scalar(select(func.left(func.md5(literal(key + name)), 27)))
            assert in_sql == calendar_feeds._name_digest(key, name)
