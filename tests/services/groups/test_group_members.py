"""Group members' own sessions: one booking per meeting for each seated client.

They bring invites, reminders, feed entries and payments to group members, and never
count as the therapist's time (the meeting row does).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from teletherapy.clock import utcnow
from teletherapy.domain.errors import ConflictError
from teletherapy.extensions import db
from teletherapy.models import Booking, OutboxMessage, TherapyGroup, User
from teletherapy.services import bookings as booking_service
from teletherapy.services import groups, payments
from teletherapy.services.calendars import feeds as calendar_feeds
from tests.booking_setup import set_availability

# `now` is Tue 2026-12-01 14:00Z; the group meets Thursdays 10:00-11:00 New York.
FIRST = datetime(2026, 12, 3, 15, 0, tzinfo=UTC)
THURSDAY = date(2026, 12, 3)


def make_group(therapist: User, now: datetime, **overrides: Any) -> TherapyGroup:
    fields: dict[str, Any] = {
        "therapist_user_id": therapist.id,
        "title": "Grief circle",
        "modality": "cbt",
        "setting": "online",
        "capacity": 3,
        "fee_cents": 2500,
        "first_start": FIRST,
        "duration_minutes": 60,
        "weekly_count": 3,
        "now": now,
        **overrides,
    }
    return groups.create_group(**fields)


def member_rows(group_id: int, client_id: int) -> list[Booking]:
    return list(
        db.session.scalars(
            select(Booking)
            .where(Booking.group_id == group_id, Booking.client_id == client_id)
            .order_by(Booking.start_at)
        )
    )


def outbox_of(user: User, kind: str) -> list[OutboxMessage]:
    return list(
        db.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.user_id == user.id, OutboxMessage.kind == kind)
            .order_by(OutboxMessage.id)
        )
    )


@pytest.fixture
def therapist(make_user: Any) -> User:
    user = make_user("therapist", display_name="Dr Ana")
    set_availability(user)
    return user


def test_taking_a_seat_books_the_member_into_every_future_meeting_with_invites(
    therapist: User, make_user: Any, now: datetime
) -> None:
    group = make_group(therapist, now)
    member = make_user("client", display_name="Lin")
    # The first meeting has started when the member joins: only the later two are theirs.
    joined = FIRST + timedelta(minutes=5)
    groups.take_seat(group_id=group.id, client_id=member.id, now=joined)

    rows = member_rows(group.id, member.id)
    assert [r.start_at for r in rows] == [FIRST + timedelta(weeks=w) for w in (1, 2)]
    for row in rows:
        assert row.status == "confirmed"
        assert row.therapist_id == group.therapist_id
        assert (row.blocked_start_at, row.blocked_end_at) == (row.start_at, row.end_at)
        assert row.end_at - row.start_at == timedelta(minutes=60)
        assert (row.fee_cents, row.fee_band, row.time_zone) == (2500, None, group.time_zone)
    # Everyone in a meeting joins the same video room, the meeting's own.
    meetings = groups.list_meetings([group.id])[group.id]
    assert all(m.video_room for m in meetings)
    assert [r.video_room for r in rows] == [m.video_room for m in meetings[1:]]
    during = rows[0].start_at + timedelta(minutes=1)
    link = booking_service.join_link(booking=rows[0], now=during)
    assert link is not None
    assert link == booking_service.join_link(booking=meetings[1], now=during)
    # ONE email with ONE recurring invite for the member's meetings, not one per meeting.
    assert outbox_of(member, "booking_confirmed") == []
    invites = outbox_of(member, "series_confirmed")
    assert len(invites) == 1 and invites[0].ics_method == "REQUEST"
    ics = (invites[0].ics or b"").decode()
    assert ics.count("BEGIN:VEVENT") == 1 and "RRULE:FREQ=WEEKLY;COUNT=2" in ics
    assert all("Grief" not in (m.body_text + m.subject + (m.ics or b"").decode()) for m in invites)
    assert {m.booking_id for m in outbox_of(member, "reminder")} == {r.id for r in rows}
    # The therapist's calendar has the meeting rows: no invite per member.
    assert outbox_of(therapist, "booking_confirmed") == []
    # "My sessions": the member sees their two, the therapist each meeting once.
    mine = booking_service.list_bookings_for(user_id=member.id, now=joined, when="upcoming")
    assert [b.id for b in mine] == [r.id for r in rows]
    theirs = booking_service.list_bookings_for(user_id=therapist.id, now=joined, when="upcoming")
    # (the first meeting is under way, so it is still upcoming for the therapist)
    assert [b.client_id for b in theirs] == [None, None, None]
    assert [b.start_at for b in theirs] == [FIRST, *(r.start_at for r in rows)]


def test_member_sessions_do_not_take_the_therapists_time_or_caps(
    make_user: Any, now: datetime
) -> None:
    therapist = make_user("therapist", display_name="Dr Ana")
    # At most two sessions a day: the meeting is one, the members' rows are none.
    tid = set_availability(therapist, max_per_day=2)
    group = make_group(therapist, now)
    for _ in range(3):
        groups.take_seat(group_id=group.id, client_id=make_user("client").id, now=now)
    in_group = db.session.scalars(select(Booking).where(Booking.group_id == group.id)).all()
    assert len(in_group) == 3 + 3 * 3

    slots = booking_service.list_slots(
        therapist_id=tid,
        from_date=THURSDAY,
        to_date=THURSDAY,
        setting=None,
        now=now,
        is_new_client=True,
    )
    starts = {s.start for s in slots}
    assert FIRST not in starts  # the meeting itself
    noon = FIRST + timedelta(hours=2)  # 12:00 New York, after the meeting and its buffer
    assert noon in starts
    # The third group member can still book an individual session with the therapist
    # and counts as a new client (a seat is not an individual relationship).
    client = make_user("client")
    assert booking_service.is_new_client(client_id=client.id, therapist_id=tid)
    booked = booking_service.book_session(
        client_id=client.id, therapist_id=tid, start=noon, setting="online", now=now
    ).first
    assert booked.status == "confirmed"
    # Now the day is full: the meeting and one individual session.
    later = booking_service.list_slots(
        therapist_id=tid,
        from_date=THURSDAY,
        to_date=THURSDAY,
        setting=None,
        now=now,
        is_new_client=True,
    )
    assert later == []


def test_a_session_overlapping_the_meeting_is_still_refused(
    therapist: User, make_user: Any, now: datetime
) -> None:
    group = make_group(therapist, now)
    groups.take_seat(group_id=group.id, client_id=make_user("client").id, now=now)
    assert therapist.therapist is not None
    with pytest.raises(ConflictError):
        booking_service.book_session(
            client_id=make_user("client").id,
            therapist_id=therapist.therapist.id,
            start=FIRST,
            setting="online",
            now=now,
        )


def test_on_postgresql_member_rows_pass_the_constraint_and_individual_overlaps_do_not(
    therapist: User, make_user: Any, now: datetime
) -> None:
    if db.engine.dialect.name != "postgresql":
        pytest.skip("the exclusion constraint exists on PostgreSQL only")
    from sqlalchemy.exc import IntegrityError

    group = make_group(therapist, now)
    for _ in range(2):
        groups.take_seat(group_id=group.id, client_id=make_user("client").id, now=now)
    assert therapist.therapist is not None
    db.session.add(
        Booking(
            therapist_id=therapist.therapist.id,
            client_id=make_user("client").id,
            status="confirmed",
            setting="online",
            start_at=FIRST + timedelta(minutes=30),
            end_at=FIRST + timedelta(minutes=80),
            blocked_start_at=FIRST + timedelta(minutes=30),
            blocked_end_at=FIRST + timedelta(minutes=90),
            time_zone="America/New_York",
        )
    )
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_leaving_cancels_future_sessions_and_their_reminders_late_inside_the_window(
    therapist: User, make_user: Any, now: datetime
) -> None:
    group = make_group(therapist, now)
    member = make_user("client")
    stays = make_user("client")
    groups.take_seat(group_id=group.id, client_id=member.id, now=now)
    groups.take_seat(group_id=group.id, client_id=stays.id, now=now)
    # Twelve hours before the first meeting: inside the default 24-hour window.
    leaving = FIRST - timedelta(hours=12)

    groups.leave_seat(group_id=group.id, client_id=member.id, now=leaving)

    rows = member_rows(group.id, member.id)
    assert [r.status for r in rows] == ["cancelled"] * 3
    assert {r.cancelled_by for r in rows} == {"client"}
    assert [r.is_late_cancellation for r in rows] == [True, False, False]
    pending = [m for m in outbox_of(member, "reminder") if m.status == "pending"]
    assert pending == []
    # One notice goes out: the recurring event cancelled (earlier drafts are superseded).
    live = [m for m in outbox_of(member, "booking_cancelled") if m.status != "cancelled"]
    assert len(live) == 1 and live[0].ics_method == "CANCEL"
    # The other member and the meetings are untouched.
    assert {r.status for r in member_rows(group.id, stays.id)} == {"confirmed"}
    meetings = groups.list_meetings([group.id])[group.id]
    assert {m.status for m in meetings} == {"confirmed"}
    # Rejoining books the remaining meetings afresh.
    groups.take_seat(group_id=group.id, client_id=member.id, now=leaving)
    active = [r for r in member_rows(group.id, member.id) if r.status == "confirmed"]
    assert len(active) == 3


def test_a_client_promoted_from_the_waitlist_gets_the_sessions(
    therapist: User, make_user: Any, now: datetime
) -> None:
    group = make_group(therapist, now, capacity=2)
    seated = [make_user("client") for _ in range(2)]
    for client in seated:
        groups.take_seat(group_id=group.id, client_id=client.id, now=now)
    waiting = make_user("client")
    groups.join_waitlist(group_id=group.id, client_id=waiting.id, now=now)
    assert member_rows(group.id, waiting.id) == []

    handed = groups.leave_seat(group_id=group.id, client_id=seated[0].id, now=now)

    assert handed is not None and handed.client_id == waiting.id
    rows = member_rows(group.id, waiting.id)
    assert [r.status for r in rows] == ["confirmed"] * 3
    assert len(outbox_of(waiting, "series_confirmed")) == 1  # one email, one invite
    assert len(outbox_of(waiting, "waitlist_seat")) == 1


def test_cancelling_the_group_cancels_members_sessions_as_the_therapists(
    therapist: User, make_user: Any, now: datetime
) -> None:
    group = make_group(therapist, now)
    member = make_user("client")
    groups.take_seat(group_id=group.id, client_id=member.id, now=now)
    groups.cancel_group(
        group_id=group.id, therapist_user_id=therapist.id, now=now, reason="Too few members"
    )
    rows = member_rows(group.id, member.id)
    assert {(r.status, r.cancelled_by, r.is_late_cancellation) for r in rows} == {
        ("cancelled", "therapist", False)
    }
    assert {r.cancel_reason for r in rows} == {"Too few members"}
    assert [m for m in outbox_of(member, "reminder") if m.status == "pending"] == []


def test_the_therapist_marks_a_members_session_paid_and_it_is_in_both_ledgers(
    therapist: User, make_user: Any, now: datetime
) -> None:
    group = make_group(therapist, now)
    member = make_user("client")
    groups.take_seat(group_id=group.id, client_id=member.id, now=now)
    first = member_rows(group.id, member.id)[0]
    after = FIRST + timedelta(minutes=70)
    unpaid = payments.unpaid_sessions(therapist=therapist, now=after)
    assert [b.id for b in unpaid] == [first.id]

    line = payments.mark_paid_at_session(therapist=therapist, booking_id=first.id, now=after)

    assert line.amount_cents == 2500 and line.status == "succeeded"
    assert payments.unpaid_sessions(therapist=therapist, now=after) == []
    for actor in (therapist, member):
        ledger = payments.list_ledger(actor=actor)
        assert [(entry.booking.id, entry.payment.id) for entry in ledger] == [(first.id, line.id)]


def test_the_members_calendar_feed_lists_the_meetings_and_the_therapists_lists_each_once(
    therapist: User, make_user: Any, now: datetime
) -> None:
    group = make_group(therapist, now)
    members = [make_user("client") for _ in range(2)]
    for member in members:
        groups.take_seat(group_id=group.id, client_id=member.id, now=now)

    def feed_uids(user: User) -> set[str]:
        url = calendar_feeds.get_or_create_feed(user_id=user.id, now=now).url
        assert url is not None
        token = url.rsplit("/", 1)[-1].removesuffix(".ics")
        body = calendar_feeds.build_feed_for_token(token=token, now=now)[0].decode()
        lines = body.splitlines()
        return {line.removeprefix("UID:").strip() for line in lines if line.startswith("UID:")}

    for member in members:
        expected = {f"feed-booking-{r.id}@teletherapy" for r in member_rows(group.id, member.id)}
        assert len(expected) == 3
        assert feed_uids(member) == expected
    meetings = groups.list_meetings([group.id])[group.id]
    assert feed_uids(therapist) == {f"feed-booking-{m.id}@teletherapy" for m in meetings}


def test_a_member_session_cannot_be_moved_on_its_own(
    therapist: User, make_user: Any, now: datetime
) -> None:
    group = make_group(therapist, now)
    member = make_user("client")
    groups.take_seat(group_id=group.id, client_id=member.id, now=now)
    row = member_rows(group.id, member.id)[0]
    with pytest.raises(ConflictError) as caught:
        booking_service.reschedule_booking(
            booking_id=row.id, actor_id=member.id, new_start=FIRST + timedelta(hours=3), now=now
        )
    assert caught.value.extra["reason"] == "group"


def test_the_session_page_shows_a_member_the_group_and_calendar_links(
    app: Any, client: Any, login: Any, therapist: User, make_user: Any
) -> None:
    # The page reads the wall clock (a past meeting has no calendar links): the group
    # meets on the same weekday and hour as FIRST, a week or more after today.
    now = utcnow()
    first = FIRST + timedelta(weeks=max(0, (now - FIRST).days // 7 + 2))
    group = make_group(therapist, now, first_start=first)
    member = make_user("client")
    groups.take_seat(group_id=group.id, client_id=member.id, now=now)
    row = member_rows(group.id, member.id)[0]
    page = login(member).get(f"/sessions/{row.id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Grief circle" in html and f"/groups/{group.id}" in html
    assert "Add to your calendar" in html and "Skip this meeting" in html
    assert f"/sessions/{row.id}/reschedule" not in html
    listing = client.get("/sessions").get_data(as_text=True)
    assert f"/sessions/{row.id}" in listing
    client.post("/sign-out")
    # The therapist may open it (to mark attendance or payment) without calendar links.
    page = login(therapist).get(f"/sessions/{row.id}")
    assert page.status_code == 200
    assert "Add to your calendar" not in page.get_data(as_text=True)


def test_matching_counts_the_meeting_once_toward_the_weekly_load(
    therapist: User, make_user: Any, now: datetime
) -> None:
    from teletherapy.models import TherapistProfile
    from teletherapy.services.matching.candidates import _week_columns

    group = make_group(therapist, now)
    for _ in range(3):
        groups.take_seat(group_id=group.id, client_id=make_user("client").id, now=now)
    booked, used = _week_columns([], now)
    assert therapist.therapist is not None
    row = db.session.execute(
        select(booked, used).where(TherapistProfile.id == therapist.therapist.id)
    ).one()
    # This week holds the first meeting only: one session, none at a reduced fee.
    assert tuple(row) == (1, 0)


def test_the_therapist_cancelling_one_meeting_cancels_the_members_sessions_of_it(
    therapist: User, make_user: Any, now: datetime
) -> None:
    group = make_group(therapist, now)
    members = [make_user("client") for _ in range(2)]
    for member in members:
        groups.take_seat(group_id=group.id, client_id=member.id, now=now)
    second = groups.list_meetings([group.id])[group.id][1]

    booking_service.cancel_booking(
        booking_id=second.id, actor_id=therapist.id, now=now, reason="Holiday"
    )

    for member in members:
        rows = member_rows(group.id, member.id)
        assert [r.status for r in rows] == ["confirmed", "cancelled", "confirmed"]
        assert (rows[1].cancelled_by, rows[1].cancel_reason) == ("therapist", "Holiday")
        assert not rows[1].is_late_cancellation
        notices = outbox_of(member, "booking_cancelled")
        assert [m.booking_id for m in notices] == [rows[1].id]
