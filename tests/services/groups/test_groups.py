"""Group sessions: meetings on the therapist's calendar, seats within capacity, the waitlist."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import IntegrityError

from teletherapy.domain.errors import (
    ConflictError,
    NotFoundError,
    PermissionDenied,
    ValidationError,
)
from teletherapy.models import (
    Booking,
    GroupSeat,
    GroupWaitlistEntry,
    OutboxMessage,
    TherapyGroup,
    User,
)
from teletherapy.services import groups

# Tuesday 18:00 in New York (EST).
FIRST = datetime(2026, 12, 8, 23, 0, tzinfo=UTC)


def make_group(therapist: User, now: datetime, **overrides: Any) -> TherapyGroup:
    fields: dict[str, Any] = {
        "therapist_user_id": therapist.id,
        "title": "Coping skills group",
        "modality": "cbt",
        "setting": "online",
        "capacity": 8,
        "fee_cents": 2500,
        "first_start": FIRST,
        "duration_minutes": 90,
        "weekly_count": 4,
        "now": now,
        **overrides,
    }
    return groups.create_group(**fields)


def add_individual_booking(db: Any, therapist: User, client: User, start: datetime) -> Booking:
    assert therapist.therapist is not None
    booking = Booking(
        therapist_id=therapist.therapist.id,
        client_id=client.id,
        status="confirmed",
        setting="online",
        start_at=start,
        end_at=start + timedelta(minutes=50),
        blocked_start_at=start,
        blocked_end_at=start + timedelta(minutes=60),
        time_zone="America/New_York",
    )
    db.session.add(booking)
    db.session.commit()
    return booking


def test_a_group_books_its_weekly_meetings_on_the_therapist_calendar(
    db: Any, make_user: Any, now: datetime
) -> None:
    therapist = make_user("therapist")
    group = make_group(therapist, now)
    meetings = groups.list_meetings([group.id])[group.id]
    assert [m.start_at for m in meetings] == [FIRST + timedelta(weeks=w) for w in range(4)]
    for meeting in meetings:
        assert meeting.client_id is None
        assert meeting.therapist_id == therapist.therapist.id
        assert meeting.status == "confirmed"
        assert meeting.end_at - meeting.start_at == timedelta(minutes=90)
        # The default 10-minute buffer after the session is blocked too.
        assert meeting.blocked_end_at == meeting.end_at + timedelta(minutes=10)
    assert group.starts_at == FIRST
    assert group.ends_at == FIRST + timedelta(weeks=3, minutes=90)
    assert group.time_zone == "America/New_York"
    assert (group.capacity, group.seats_taken, group.seats_left) == (8, 0, 8)


def test_meetings_keep_their_wall_clock_time_across_daylight_saving(
    db: Any, make_user: Any, now: datetime
) -> None:
    therapist = make_user("therapist")
    # Tuesday 18:00 New York; clocks go forward on Sunday 2027-03-14.
    first = datetime(2027, 3, 2, 23, 0, tzinfo=UTC)
    group = make_group(therapist, now, first_start=first, weekly_count=3)
    starts = [m.start_at for m in groups.list_meetings([group.id])[group.id]]
    assert starts == [
        datetime(2027, 3, 2, 23, 0, tzinfo=UTC),
        datetime(2027, 3, 9, 23, 0, tzinfo=UTC),
        datetime(2027, 3, 16, 22, 0, tzinfo=UTC),
    ]


def test_a_group_in_another_zone_keeps_that_zone_wall_clock_time(
    db: Any, make_user: Any, now: datetime
) -> None:
    therapist = make_user("therapist")
    # Monday 19:00 in London; British Summer Time ends on Sunday 2027-10-31.
    first = datetime(2027, 10, 25, 18, 0, tzinfo=UTC)
    group = make_group(therapist, now, first_start=first, weekly_count=2, time_zone="Europe/London")
    starts = [m.start_at for m in groups.list_meetings([group.id])[group.id]]
    assert starts == [first, datetime(2027, 11, 1, 19, 0, tzinfo=UTC)]


@pytest.mark.parametrize(
    "overrides,field",
    [
        ({"capacity": 1}, "capacity"),
        ({"capacity": 16}, "capacity"),
        ({"modality": "astrology"}, "modality"),
        ({"setting": "moon"}, "setting"),
        ({"setting": "home"}, "setting"),
        ({"title": "  "}, "title"),
        ({"fee_cents": -1}, "fee_cents"),
        ({"first_start": datetime(2026, 12, 8, 18, 0)}, "first_start"),
        ({"first_start": datetime(2026, 11, 1, 18, 0, tzinfo=UTC)}, "first_start"),
        ({"duration_minutes": 5}, "duration_minutes"),
        ({"weekly_count": 0}, "weekly_count"),
        ({"time_zone": "US/Eastern"}, "time_zone"),
    ],
)
def test_bad_group_input_is_refused_by_field_and_nothing_is_saved(
    db: Any, make_user: Any, now: datetime, overrides: dict[str, Any], field: str
) -> None:
    therapist = make_user("therapist")
    with pytest.raises(ValidationError) as caught:
        make_group(therapist, now, **overrides)
    assert field in caught.value.errors
    assert db.session.scalar(select(func.count(TherapyGroup.id))) == 0
    assert db.session.scalar(select(func.count(Booking.id))) == 0


def test_meetings_that_clash_with_individual_sessions_are_refused_with_their_dates(
    db: Any, make_user: Any, now: datetime
) -> None:
    therapist = make_user("therapist")
    client = make_user("client")
    # Inside week 2's meeting, and in week 4's buffer (10 minutes after its end).
    add_individual_booking(db, therapist, client, FIRST + timedelta(weeks=1, minutes=30))
    add_individual_booking(db, therapist, client, FIRST + timedelta(weeks=3, minutes=95))
    with pytest.raises(ConflictError) as caught:
        make_group(therapist, now)
    assert caught.value.extra["reason"] == "taken"
    assert caught.value.extra["conflicts"] == [
        groups.iso_utc(FIRST + timedelta(weeks=1)),
        groups.iso_utc(FIRST + timedelta(weeks=3)),
    ]
    assert db.session.scalar(select(func.count(TherapyGroup.id))) == 0
    assert (
        db.session.scalar(select(func.count(Booking.id)).where(Booking.group_id.isnot(None))) == 0
    )


def test_a_cancelled_session_does_not_block_a_group_meeting(
    db: Any, make_user: Any, now: datetime
) -> None:
    therapist = make_user("therapist")
    booking = add_individual_booking(db, therapist, make_user("client"), FIRST)
    booking.status = "cancelled"
    db.session.commit()
    assert make_group(therapist, now).id


def test_two_groups_of_one_therapist_cannot_overlap(db: Any, make_user: Any, now: datetime) -> None:
    therapist = make_user("therapist")
    make_group(therapist, now)
    with pytest.raises(ConflictError) as caught:
        make_group(therapist, now, first_start=FIRST + timedelta(weeks=2, hours=1))
    assert len(caught.value.extra["conflicts"]) == 2


def test_the_exclusion_constraint_catches_a_clash_the_check_missed(
    db: Any, make_user: Any, now: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    if db.engine.dialect.name != "postgresql":
        pytest.skip("the exclusion constraint exists on PostgreSQL only")
    therapist = make_user("therapist")
    add_individual_booking(db, therapist, make_user("client"), FIRST)
    from teletherapy.services.groups import groups as group_module

    real = group_module._conflicting_starts
    calls = {"n": 0}

    def blind_first(therapist_id: int, meetings: list[groups.Meeting]) -> list[datetime]:
        calls["n"] += 1
        return [] if calls["n"] == 1 else real(therapist_id, meetings)

    monkeypatch.setattr(group_module, "_conflicting_starts", blind_first)
    with pytest.raises(ConflictError) as caught:
        make_group(therapist, now)
    assert caught.value.extra["conflicts"] == [groups.iso_utc(FIRST)]
    assert db.session.scalar(select(func.count(TherapyGroup.id))) == 0


def test_clients_take_seats_and_a_second_seat_for_one_client_is_refused(
    db: Any, make_user: Any, now: datetime
) -> None:
    group = make_group(make_user("therapist"), now)
    ana = make_user("client")
    seat = groups.take_seat(group_id=group.id, client_id=ana.id, now=now)
    assert seat.status == "taken"
    with pytest.raises(ConflictError) as caught:
        groups.take_seat(group_id=group.id, client_id=ana.id, now=now)
    assert caught.value.extra["reason"] == "already_seated"
    assert groups.get_group(group.id).seats_taken == 1
    assert [g.id for g in groups.list_my_groups(client_id=ana.id)] == [group.id]
    assert groups.get_membership(group_id=group.id, client_id=ana.id).is_seated


def test_a_full_group_refuses_a_seat_and_offers_the_waitlist(
    db: Any, make_user: Any, now: datetime
) -> None:
    group = make_group(make_user("therapist"), now, capacity=2)
    for _ in range(2):
        groups.take_seat(group_id=group.id, client_id=make_user("client").id, now=now)
    late = make_user("client")
    with pytest.raises(ConflictError) as caught:
        groups.take_seat(group_id=group.id, client_id=late.id, now=now)
    assert caught.value.extra == {"reason": "full", "waitlist": True, "on_waitlist": False}
    entry = groups.join_waitlist(group_id=group.id, client_id=late.id, now=now)
    assert entry.status == "waiting"
    assert groups.get_membership(group_id=group.id, client_id=late.id).waitlist_position == 1
    with pytest.raises(ConflictError) as again:
        groups.join_waitlist(group_id=group.id, client_id=late.id, now=now)
    assert again.value.extra["reason"] == "already_waiting"
    assert groups.get_group(group.id).seats_taken == 2


def test_the_waitlist_is_only_for_full_groups(db: Any, make_user: Any, now: datetime) -> None:
    group = make_group(make_user("therapist"), now)
    with pytest.raises(ConflictError) as caught:
        groups.join_waitlist(group_id=group.id, client_id=make_user("client").id, now=now)
    assert caught.value.extra["reason"] == "seats_available"
    assert groups.count_waiting(group.id) == 0


def test_a_freed_seat_goes_to_the_first_in_line_who_is_told_by_email(
    db: Any, make_user: Any, now: datetime
) -> None:
    group = make_group(make_user("therapist"), now, capacity=2, title="Grief circle")
    seated = [make_user("client") for _ in range(2)]
    for client in seated:
        groups.take_seat(group_id=group.id, client_id=client.id, now=now)
    first = make_user("client", display_name="Rosa Diaz", time_zone="America/Chicago")
    second = make_user("client")
    groups.join_waitlist(group_id=group.id, client_id=first.id, now=now)
    groups.join_waitlist(group_id=group.id, client_id=second.id, now=now + timedelta(minutes=1))

    handed = groups.leave_seat(group_id=group.id, client_id=seated[0].id, now=now)

    assert handed is not None and handed.client_id == first.id and handed.from_waitlist
    assert groups.get_group(group.id).seats_taken == 2
    assert groups.get_membership(group_id=group.id, client_id=first.id).is_seated
    assert not groups.get_membership(group_id=group.id, client_id=seated[0].id).is_seated
    assert groups.get_membership(group_id=group.id, client_id=second.id).waitlist_position == 1
    # Besides the session invites of members (tests/services/groups/test_group_members.py),
    # exactly one seat email goes out, to the first in line.
    messages = list(
        db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "waitlist_seat"))
    )
    assert [(m.kind, m.to_address) for m in messages] == [("waitlist_seat", first.email)]
    body = messages[0].body_text
    assert body.startswith("Hello Rosa,")
    assert "Next meeting: Tue, Dec 8, 5:00 pm CST." in body
    assert f"/groups/{group.id}" in body
    assert "Grief" not in body and "Grief" not in messages[0].subject  # no clinical detail


def test_leaving_with_nobody_waiting_frees_the_seat(db: Any, make_user: Any, now: datetime) -> None:
    group = make_group(make_user("therapist"), now, capacity=2)
    client = make_user("client")
    groups.take_seat(group_id=group.id, client_id=client.id, now=now)
    assert groups.leave_seat(group_id=group.id, client_id=client.id, now=now) is None
    assert groups.get_group(group.id).seats_taken == 0
    assert groups.list_my_groups(client_id=client.id) == []
    with pytest.raises(NotFoundError):
        groups.leave_seat(group_id=group.id, client_id=client.id, now=now)
    # Leaving kept history: the client can come back.
    groups.take_seat(group_id=group.id, client_id=client.id, now=now)
    assert db.session.scalar(select(func.count(GroupSeat.id))) == 2


def test_a_client_who_left_the_waitlist_is_passed_over(
    db: Any, make_user: Any, now: datetime
) -> None:
    group = make_group(make_user("therapist"), now, capacity=2)
    seated = [make_user("client") for _ in range(2)]
    for client in seated:
        groups.take_seat(group_id=group.id, client_id=client.id, now=now)
    gone, next_one = make_user("client"), make_user("client")
    groups.join_waitlist(group_id=group.id, client_id=gone.id, now=now)
    groups.join_waitlist(group_id=group.id, client_id=next_one.id, now=now)
    groups.leave_waitlist(group_id=group.id, client_id=gone.id, now=now)
    with pytest.raises(NotFoundError):
        groups.leave_waitlist(group_id=group.id, client_id=gone.id, now=now)
    handed = groups.leave_seat(group_id=group.id, client_id=seated[1].id, now=now)
    assert handed is not None and handed.client_id == next_one.id
    rows = db.session.execute(select(GroupWaitlistEntry.client_id, GroupWaitlistEntry.status))
    statuses = {client_id: status for client_id, status in rows}
    assert statuses == {gone.id: "left", next_one.id: "accepted"}


def test_only_clients_take_seats(db: Any, make_user: Any, now: datetime) -> None:
    therapist = make_user("therapist")
    group = make_group(therapist, now)
    with pytest.raises(PermissionDenied):
        groups.take_seat(group_id=group.id, client_id=therapist.id, now=now)
    with pytest.raises(NotFoundError):
        groups.take_seat(group_id=group.id + 99, client_id=make_user("client").id, now=now)


def test_a_group_that_has_ended_takes_no_seats_and_is_not_listed(
    db: Any, make_user: Any, now: datetime
) -> None:
    group = make_group(make_user("therapist"), now, weekly_count=1)
    later = group.ends_at + timedelta(minutes=1)
    with pytest.raises(ConflictError) as caught:
        groups.take_seat(group_id=group.id, client_id=make_user("client").id, now=later)
    assert caught.value.extra["reason"] == "ended"
    assert groups.list_groups(now=now) == [group]
    assert groups.list_groups(now=later) == []


def test_the_therapist_sees_first_names_and_nobody_else_does(
    db: Any, make_user: Any, now: datetime
) -> None:
    therapist = make_user("therapist")
    group = make_group(therapist, now)
    for name in ("Ana María López", "Kwame Mensah"):
        groups.take_seat(
            group_id=group.id, client_id=make_user("client", display_name=name).id, now=now
        )
    assert groups.list_roster(group_id=group.id, therapist_user_id=therapist.id) == [
        "Ana",
        "Kwame",
    ]
    with pytest.raises(NotFoundError):
        groups.list_roster(group_id=group.id, therapist_user_id=make_user("therapist").id)


def test_list_groups_filters_by_therapist(db: Any, make_user: Any, now: datetime) -> None:
    first, second = make_user("therapist"), make_user("therapist")
    a = make_group(first, now)
    b = make_group(second, now)
    assert groups.list_groups() == [a, b]
    assert groups.list_groups(therapist_id=second.therapist.id) == [b]


def test_the_database_refuses_more_seats_than_capacity(
    db: Any, make_user: Any, now: datetime
) -> None:
    group = make_group(make_user("therapist"), now, capacity=2)
    with pytest.raises(IntegrityError):
        db.session.execute(
            update(TherapyGroup).where(TherapyGroup.id == group.id).values(seats_taken=3)
        )
        db.session.commit()
    db.session.rollback()
    with pytest.raises(IntegrityError):
        db.session.execute(text("UPDATE therapy_groups SET seats_taken = -1"))
        db.session.commit()
    db.session.rollback()


def test_demo_therapists_one_to_three_each_run_a_saturday_group(db: Any) -> None:
    from zoneinfo import ZoneInfo

    from teletherapy.demo.seed import seed_demo

    seed_demo(therapists=4, clients=1, seed=1)
    listed = groups.list_groups()
    assert len(listed) == 3
    meetings = groups.list_meetings(g.id for g in listed)
    for group in listed:
        assert len(meetings[group.id]) == 8
        local = group.starts_at.astimezone(ZoneInfo(group.time_zone))
        assert (local.weekday(), local.hour) == (5, 10)


def test_cancelling_a_group_frees_the_calendar_and_tells_members_only(
    db: Any, make_user: Any, now: datetime
) -> None:
    therapist = make_user("therapist")
    group = make_group(therapist, now, capacity=2, title="Grief circle")
    members = [make_user("client") for _ in range(2)]
    for member in members:
        groups.take_seat(group_id=group.id, client_id=member.id, now=now)
    waiting = make_user("client")
    groups.join_waitlist(group_id=group.id, client_id=waiting.id, now=now)
    # Between the first and second meetings: the first stays as it was.
    later = FIRST + timedelta(days=2)
    with pytest.raises(NotFoundError):
        groups.cancel_group(
            group_id=group.id, therapist_user_id=make_user("therapist").id, now=later
        )

    groups.cancel_group(group_id=group.id, therapist_user_id=therapist.id, now=later)

    statuses = [m.status for m in groups.list_meetings([group.id])[group.id]]
    assert statuses == ["confirmed", "cancelled", "cancelled", "cancelled"]
    assert groups.get_group(group.id).status == "cancelled"
    assert groups.list_groups() == []
    assert groups.get_membership(group_id=group.id, client_id=waiting.id).waitlist_position is None
    # Only members hear of it (their session invites and cancellations included).
    everything = list(db.session.scalars(select(OutboxMessage)))
    assert {m.user_id for m in everything} == {m.id for m in members}
    told = list(
        db.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.kind == "group_cancelled")
            .order_by(OutboxMessage.id)
        )
    )
    assert [(m.kind, m.user_id) for m in told] == [("group_cancelled", m.id) for m in members]
    assert all("Grief" not in m.body_text for m in told)
    # The freed time can be booked again.
    assert make_group(therapist, later, first_start=FIRST + timedelta(weeks=1)).id
    with pytest.raises(ConflictError) as caught:
        groups.take_seat(group_id=group.id, client_id=make_user("client").id, now=later)
    assert caught.value.extra["reason"] == "cancelled"
