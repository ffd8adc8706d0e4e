"""Booking service: every refusal reason, idempotency, series, reschedule, cancel, attendance."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from teletherapy.domain.errors import ConflictError, NotFoundError, ValidationError
from teletherapy.extensions import db as _db
from teletherapy.gateways.video import VideoRooms
from teletherapy.models import Booking, BookingSeries, IdempotencyRecord, OutboxMessage
from teletherapy.services import bookings as svc
from teletherapy.services.bookings import book as book_module
from tests.booking_setup import add_override, set_accepting, set_availability

NY = ZoneInfo("America/New_York")
# `now` is Tue 2026-12-01 14:00Z (09:00 in New York); slots Mon-Fri 09:00-17:00 New York.
THU_10 = datetime(2026, 12, 3, 15, 0, tzinfo=UTC)  # Thu 10:00 EST
THU_11 = THU_10 + timedelta(hours=1)


@pytest.fixture
def therapist(make_user: Any) -> Any:
    return make_user("therapist", display_name="Dr Ana")


@pytest.fixture
def tid(therapist: Any) -> int:
    return set_availability(therapist)


@pytest.fixture
def client_user(make_user: Any) -> Any:
    return make_user("client", display_name="Lin")


def book(client_id: int, tid: int, start: datetime, now: datetime, **kw: Any) -> Any:
    result = svc.book_session(
        client_id=client_id,
        therapist_id=tid,
        start=start,
        setting=kw.pop("setting", "online"),
        now=now,
        **kw,
    )
    return result.bookings if result.is_series else result.first


def count(model: Any) -> int:
    return int(_db.session.scalar(select(func.count()).select_from(model)))


def reason_of(exc: pytest.ExceptionInfo[ConflictError]) -> str:
    return str(exc.value.extra["reason"])


def test_booking_a_free_slot_confirms_it_with_buffers_and_a_video_room(
    tid: int, client_user: Any, now: datetime, app: Any
) -> None:
    booking = book(client_user.id, tid, THU_10, now)
    assert booking.status == "confirmed"
    assert (booking.start_at, booking.end_at) == (THU_10, THU_10 + timedelta(minutes=50))
    assert booking.blocked_end_at == THU_10 + timedelta(minutes=60)
    assert booking.time_zone == "America/New_York"
    assert (booking.fee_cents, booking.fee_band) == (15000, "d")  # the standard band's price
    assert booking.video_room and len(booking.video_room) >= 20
    kinds = _db.session.scalars(select(OutboxMessage.kind)).all()
    assert kinds.count("booking_confirmed") == 2  # client and therapist


def test_a_booking_is_answered_from_what_was_written_without_reading_it_back(
    tid: int, client_user: Any, now: datetime
) -> None:
    """The commit expires the rows; the ones just booked keep the values written (no
    SELECT after the commit), and they are what the database holds."""
    from sqlalchemy import event
    from sqlalchemy import inspect as sa_inspect

    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    for start, weeks in ((THU_10, None), (THU_11, 3)):  # one session, a weekly series
        result = svc.book_session(client_id=client_user.id, therapist_id=tid, start=start,
                                  setting="online", now=now, repeat_weekly=weeks)  # fmt: skip
        keys = [attribute.key for attribute in sa_inspect(Booking).column_attrs]
        event.listen(_db.engine, "before_cursor_execute", record)
        try:
            answered = [{key: getattr(row, key) for key in keys} for row in result.bookings]
        finally:
            event.remove(_db.engine, "before_cursor_execute", record)
        assert statements == []
        _db.session.expire_all()
        stored = [{key: getattr(_db.session.get(Booking, row["id"]), key) for key in keys}
                  for row in answered]  # fmt: skip
        assert answered == stored
        assert answered[0]["group_id"] is None and answered[0]["status"] == "confirmed"


def test_two_bookings_get_different_unguessable_rooms(
    tid: int, client_user: Any, make_user: Any, now: datetime
) -> None:
    first = book(client_user.id, tid, THU_10, now)
    second = book(make_user("client").id, tid, THU_11, now)
    assert first.video_room != second.video_room


def test_in_office_booking_has_no_video_room(
    make_user: Any, client_user: Any, now: datetime
) -> None:
    tid = set_availability(make_user("therapist"), rules=[(3, "09:00", "17:00", "in_office")])
    booking = book(client_user.id, tid, THU_10, now, setting="in_office")
    assert booking.video_room is None


def test_a_taken_slot_is_refused_as_taken(
    tid: int, client_user: Any, make_user: Any, now: datetime
) -> None:
    book(client_user.id, tid, THU_10, now)
    with pytest.raises(ConflictError) as exc:
        book(make_user("client").id, tid, THU_10, now)
    assert reason_of(exc) == "taken"
    assert count(Booking) == 1


def test_a_slot_already_taken_is_refused_without_waiting_for_the_calendar_lock(
    tid: int, client_user: Any, make_user: Any, now: datetime, monkeypatch: Any
) -> None:
    locked: list[int] = []
    take_lock = book_module.lock_therapist_calendar
    monkeypatch.setattr(
        book_module, "lock_therapist_calendar", lambda t: (locked.append(t), take_lock(t))
    )
    book(client_user.id, tid, THU_10, now)
    assert locked == [tid]
    with pytest.raises(ConflictError) as exc:
        book(make_user("client").id, tid, THU_10, now)
    assert reason_of(exc) == "taken"
    assert locked == [tid]  # the refusal came from what was committed, before the lock


@pytest.mark.parametrize(
    "start,reason",
    [
        (THU_10 + timedelta(minutes=30), "outside_availability"),
        (datetime(2026, 12, 5, 15, 0, tzinfo=UTC), "outside_availability"),  # Saturday
        (datetime(2026, 12, 1, 20, 0, tzinfo=UTC), "too_soon"),  # today 15:00 New York
        (datetime(2027, 2, 15, 15, 0, tzinfo=UTC), "beyond_horizon"),  # Monday, 76 days out
    ],
)
def test_slots_the_engine_does_not_offer_are_refused_with_the_reason(
    tid: int, client_user: Any, now: datetime, start: datetime, reason: str
) -> None:
    with pytest.raises(ConflictError) as exc:
        book(client_user.id, tid, start, now)
    assert reason_of(exc) == reason
    assert count(Booking) == 0


def test_day_cap_refuses_a_second_session_that_day(
    therapist: Any, client_user: Any, make_user: Any, now: datetime
) -> None:
    tid = set_availability(therapist, max_per_day=1)
    book(client_user.id, tid, THU_10, now)
    with pytest.raises(ConflictError) as exc:
        book(make_user("client").id, tid, THU_10 + timedelta(hours=3), now)
    assert reason_of(exc) == "day_cap"


def test_week_cap_refuses_another_session_that_week(
    therapist: Any, client_user: Any, make_user: Any, now: datetime
) -> None:
    tid = set_availability(therapist, max_per_week=1)
    book(client_user.id, tid, THU_10, now)
    with pytest.raises(ConflictError) as exc:
        book(make_user("client").id, tid, THU_10 + timedelta(days=1), now)
    assert reason_of(exc) == "week_cap"


def test_not_accepting_refuses_new_clients_but_not_existing_ones(
    tid: int, client_user: Any, make_user: Any, now: datetime
) -> None:
    book(client_user.id, tid, THU_10, now)
    set_accepting(tid, False)
    with pytest.raises(ConflictError) as exc:
        book(make_user("client").id, tid, THU_11, now)
    assert reason_of(exc) == "not_accepting"
    assert book(client_user.id, tid, THU_11, now).status == "confirmed"


def test_a_client_whose_only_hold_lapsed_is_still_new(
    tid: int, client_user: Any, now: datetime
) -> None:
    """A hold that ran out unpaid makes no one an existing client: under the calendar
    lock the read that expires it (one round trip on PostgreSQL) sees the row as it was,
    still "held", and leaves it out as expiring it does."""
    held = book(client_user.id, tid, THU_10, now, hold_minutes=10)
    set_accepting(tid, False)
    later = now + timedelta(minutes=11)
    with pytest.raises(ConflictError) as exc:
        book(client_user.id, tid, THU_11, later)
    assert reason_of(exc) == "not_accepting"
    _db.session.expire_all()
    assert _db.session.get(Booking, held.id).status == "held"  # the refusal wrote nothing
    set_accepting(tid, True)
    assert book(client_user.id, tid, THU_10, later).status == "confirmed"
    assert _db.session.get(Booking, held.id).status == "expired"


def test_a_client_whose_only_booking_was_cancelled_is_still_new(
    tid: int, client_user: Any, now: datetime
) -> None:
    first = book(client_user.id, tid, THU_10, now)
    svc.cancel_booking(booking_id=first.id, actor_id=client_user.id, now=now)
    assert svc.is_new_client(client_id=client_user.id, therapist_id=tid)


def test_overlap_constraint_violation_becomes_taken_not_a_crash(
    tid: int, client_user: Any, make_user: Any, now: datetime, monkeypatch: Any, app: Any
) -> None:
    if _db.engine.dialect.name != "postgresql":
        pytest.skip("the exclusion constraint exists on PostgreSQL only")
    book(client_user.id, tid, THU_10, now)
    monkeypatch.setattr(book_module, "check_bookable", lambda *a, **k: None)
    with pytest.raises(ConflictError) as exc:
        book(make_user("client").id, tid, THU_10 + timedelta(minutes=30), now)
    assert reason_of(exc) == "taken"
    assert count(Booking) == 1


def test_unknown_or_pending_therapist_is_not_found(
    client_user: Any, make_user: Any, now: datetime
) -> None:
    with pytest.raises(NotFoundError):
        book(client_user.id, 9999, THU_10, now)
    pending = make_user("therapist", status="pending")
    tid = set_availability(pending)
    with pytest.raises(NotFoundError):
        book(client_user.id, tid, THU_10, now)


@pytest.mark.parametrize(
    "changes,field",
    [
        ({"setting": "zoom"}, "setting"),
        ({"repeat_weekly": 1}, "repeat_weekly"),
        ({"repeat_weekly": 53}, "repeat_weekly"),
        ({"hold_minutes": 0}, "hold_minutes"),
        ({"start": datetime(2026, 12, 3, 10, 0)}, "start"),
    ],
)
def test_bad_booking_input_is_a_validation_error_and_books_nothing(
    tid: int, client_user: Any, now: datetime, changes: dict[str, Any], field: str
) -> None:
    args: dict[str, Any] = {"start": THU_10, **changes}
    start = args.pop("start")
    with pytest.raises(ValidationError) as exc:
        book(client_user.id, tid, start, now, **args)
    assert field in exc.value.errors
    assert count(Booking) == 0


def test_therapists_cannot_book(tid: int, make_user: Any, now: datetime) -> None:
    with pytest.raises(ValidationError):
        book(make_user("therapist").id, tid, THU_10, now)


# --- idempotency ---------------------------------------------------------------------


def test_retry_with_the_same_key_returns_the_first_booking(
    tid: int, client_user: Any, now: datetime
) -> None:
    first = book(client_user.id, tid, THU_10, now, idempotency_key="abc")
    again = book(client_user.id, tid, THU_10, now + timedelta(minutes=1), idempotency_key="abc")
    assert again.id == first.id
    assert count(Booking) == 1
    assert count(IdempotencyRecord) == 1


def test_same_key_with_a_different_request_is_refused(
    tid: int, client_user: Any, now: datetime
) -> None:
    book(client_user.id, tid, THU_10, now, idempotency_key="abc")
    with pytest.raises(ValidationError) as exc:
        book(client_user.id, tid, THU_11, now, idempotency_key="abc")
    assert "idempotency_key" in exc.value.errors
    assert count(Booking) == 1


def test_keys_are_per_client(tid: int, client_user: Any, make_user: Any, now: datetime) -> None:
    book(client_user.id, tid, THU_10, now, idempotency_key="abc")
    other = book(make_user("client").id, tid, THU_11, now, idempotency_key="abc")
    assert other.start_at == THU_11


def test_a_failed_request_stores_no_key_so_a_retry_tries_again(
    tid: int, client_user: Any, make_user: Any, now: datetime
) -> None:
    blocker = book(make_user("client").id, tid, THU_10, now)
    with pytest.raises(ConflictError):
        book(client_user.id, tid, THU_10, now, idempotency_key="k1")
    assert count(IdempotencyRecord) == 0
    svc.cancel_booking(booking_id=blocker.id, actor_id=blocker.client_id, now=now)
    assert book(client_user.id, tid, THU_10, now, idempotency_key="k1").client_id == client_user.id


def test_series_replay_returns_the_whole_series(tid: int, client_user: Any, now: datetime) -> None:
    first = book(client_user.id, tid, THU_10, now, repeat_weekly=3, idempotency_key="s")
    again = book(client_user.id, tid, THU_10, now, repeat_weekly=3, idempotency_key="s")
    assert [b.id for b in again] == [b.id for b in first]


# --- weekly series -----------------------------------------------------------------


def test_weekly_series_keeps_wall_clock_time_across_dst(
    tid: int, client_user: Any, now: datetime
) -> None:
    # 16 Thursdays from Dec 3 run past the US spring-forward of 2027-03-14.
    bookings = book(client_user.id, tid, THU_10, now, repeat_weekly=16)
    assert len(bookings) == 16
    local = [b.start_at.astimezone(NY) for b in bookings]
    assert {(t.weekday(), t.hour, t.minute) for t in local} == {(3, 10, 0)}
    assert {b.start_at.hour for b in bookings} == {15, 14}  # EST, then EDT
    series_ids = {b.series_id for b in bookings}
    assert len(series_ids) == 1 and None not in series_ids
    series = _db.session.get(BookingSeries, series_ids.pop())
    assert series.count == 16 and series.time_zone == "America/New_York"


def test_series_conflicts_are_all_listed_and_nothing_is_booked(
    tid: int, client_user: Any, make_user: Any, now: datetime
) -> None:
    other = make_user("client").id
    book(other, tid, THU_10 + timedelta(weeks=1), now)
    book(other, tid, THU_10 + timedelta(weeks=3), now)
    add_override(tid, date(2026, 12, 24), None, None, None)  # Christmas Eve off
    before = count(Booking)
    with pytest.raises(ConflictError) as exc:
        book(client_user.id, tid, THU_10, now, repeat_weekly=6)
    assert exc.value.extra["reason"] == "series_conflict"
    assert exc.value.extra["conflicts"] == [
        {"start": "2026-12-10T15:00:00Z", "reason": "taken"},
        {"start": "2026-12-24T15:00:00Z", "reason": "outside_availability"},
    ]
    assert count(Booking) == before
    assert count(BookingSeries) == 0


def test_series_counts_its_own_weeks_against_the_week_cap(
    therapist: Any, client_user: Any, make_user: Any, now: datetime
) -> None:
    tid = set_availability(therapist, max_per_week=1)
    book(make_user("client").id, tid, THU_10 + timedelta(weeks=2, days=1), now)
    with pytest.raises(ConflictError) as exc:
        book(client_user.id, tid, THU_10, now, repeat_weekly=4)
    assert exc.value.extra["conflicts"] == [{"start": "2026-12-17T15:00:00Z", "reason": "week_cap"}]


# --- reschedule --------------------------------------------------------------------


def test_reschedule_moves_the_session_and_keeps_history(
    tid: int, client_user: Any, now: datetime
) -> None:
    old = book(client_user.id, tid, THU_10, now)
    old_id, room = old.id, old.video_room
    new = svc.reschedule_booking(
        booking_id=old_id, actor_id=client_user.id, new_start=THU_11, now=now
    )
    old = _db.session.get(Booking, old_id)
    assert (old.status, old.cancelled_by) == ("cancelled", "reschedule")
    assert not old.is_late_cancellation
    assert new.status == "confirmed" and new.start_at == THU_11
    assert new.rescheduled_from_id == old_id
    assert new.video_room == room
    assert new.ics_sequence > 0  # the calendar hook raised SEQUENCE for the move
    kinds = _db.session.scalars(select(OutboxMessage.kind)).all()
    assert kinds.count("booking_rescheduled") == 2
    listed = svc.list_bookings_for(user_id=client_user.id, now=now)
    assert [b.id for b in listed] == [new.id]


def test_reschedule_to_an_overlapping_time_works(tid: int, client_user: Any, now: datetime) -> None:
    old = book(client_user.id, tid, THU_10, now)
    # That Thursday the therapist's hours start on the half hour: 09:30, 10:30 ...
    add_override(tid, date(2026, 12, 3), "09:30", "17:00", "online")
    half_past = THU_10 + timedelta(minutes=30)
    new = svc.reschedule_booking(
        booking_id=old.id, actor_id=client_user.id, new_start=half_past, now=now
    )
    assert new.start_at == half_past
    active = _db.session.scalars(select(Booking).where(Booking.status == "confirmed")).all()
    assert [b.id for b in active] == [new.id]


def test_failed_reschedule_leaves_the_original_intact(
    tid: int, client_user: Any, make_user: Any, now: datetime
) -> None:
    old = book(client_user.id, tid, THU_10, now)
    book(make_user("client").id, tid, THU_11, now)
    with pytest.raises(ConflictError) as exc:
        svc.reschedule_booking(
            booking_id=old.id, actor_id=client_user.id, new_start=THU_11, now=now
        )
    assert reason_of(exc) == "taken"
    again = _db.session.get(Booking, old.id)
    assert (again.status, again.start_at, again.ics_sequence) == ("confirmed", THU_10, 0)
    assert count(Booking) == 2


def test_reschedule_by_a_stranger_is_not_found(
    tid: int, client_user: Any, make_user: Any, now: datetime
) -> None:
    old = book(client_user.id, tid, THU_10, now)
    with pytest.raises(NotFoundError):
        svc.reschedule_booking(
            booking_id=old.id, actor_id=make_user("client").id, new_start=THU_11, now=now
        )


def test_therapist_can_reschedule_and_a_cancelled_session_cannot_be_moved(
    tid: int, therapist: Any, client_user: Any, now: datetime
) -> None:
    old = book(client_user.id, tid, THU_10, now)
    new = svc.reschedule_booking(
        booking_id=old.id, actor_id=therapist.id, new_start=THU_11, now=now
    )
    with pytest.raises(ConflictError) as exc:
        svc.reschedule_booking(booking_id=old.id, actor_id=therapist.id, new_start=THU_10, now=now)
    assert reason_of(exc) == "not_active"
    assert new.status == "confirmed"


# --- cancel ------------------------------------------------------------------------


def test_client_cancelling_early_is_not_late(tid: int, client_user: Any, now: datetime) -> None:
    booking = book(client_user.id, tid, THU_10, now)
    cancelled = svc.cancel_booking(booking_id=booking.id, actor_id=client_user.id, now=now)
    assert cancelled.status == "cancelled" and cancelled.cancelled_by == "client"
    assert cancelled.is_late_cancellation is False


def test_client_cancelling_inside_the_window_is_late(
    tid: int, client_user: Any, now: datetime
) -> None:
    booking = book(client_user.id, tid, THU_10, now)
    preview = svc.preview_cancellation(
        booking_id=booking.id, user_id=client_user.id, now=THU_10 - timedelta(hours=2)
    )
    assert preview.is_late and preview.window_hours == 24 and preview.by == "client"
    cancelled = svc.cancel_booking(
        booking_id=booking.id, actor_id=client_user.id, now=THU_10 - timedelta(hours=2)
    )
    assert cancelled.is_late_cancellation is True


def test_the_window_is_the_therapists_own(therapist: Any, client_user: Any, now: datetime) -> None:
    tid = set_availability(therapist, cancellation_window_hours=48)
    booking = book(client_user.id, tid, THU_10, now)
    at = THU_10 - timedelta(hours=47)  # on time with the default 24 h, late with 48 h
    cancelled = svc.cancel_booking(booking_id=booking.id, actor_id=client_user.id, now=at)
    assert cancelled.is_late_cancellation is True


def test_therapist_cancelling_late_is_never_late_and_the_client_is_told(
    tid: int, therapist: Any, client_user: Any, now: datetime
) -> None:
    booking = book(client_user.id, tid, THU_10, now)
    at = THU_10 - timedelta(hours=1)
    assert not svc.preview_cancellation(booking_id=booking.id, user_id=therapist.id, now=at).is_late
    cancelled = svc.cancel_booking(
        booking_id=booking.id, actor_id=therapist.id, now=at, reason="I am unwell"
    )
    assert (cancelled.cancelled_by, cancelled.is_late_cancellation) == ("therapist", False)
    assert cancelled.cancel_reason == "I am unwell"
    to_client = _db.session.scalars(
        select(OutboxMessage).where(
            OutboxMessage.kind == "booking_cancelled", OutboxMessage.to_address == client_user.email
        )
    ).all()
    assert len(to_client) == 1


def test_cancel_future_cancels_this_and_later_weeks_only(
    tid: int, client_user: Any, now: datetime
) -> None:
    series = book(client_user.id, tid, THU_10, now, repeat_weekly=4)
    ids = [b.id for b in series]
    svc.cancel_booking(booking_id=ids[1], actor_id=client_user.id, now=now, scope="future")
    statuses = [_db.session.get(Booking, i).status for i in ids]
    assert statuses == ["confirmed", "cancelled", "cancelled", "cancelled"]


def test_cancel_one_leaves_the_rest_of_the_series(
    tid: int, client_user: Any, now: datetime
) -> None:
    series = book(client_user.id, tid, THU_10, now, repeat_weekly=3)
    svc.cancel_booking(booking_id=series[1].id, actor_id=client_user.id, now=now)
    statuses = [_db.session.get(Booking, b.id).status for b in series]
    assert statuses == ["confirmed", "cancelled", "confirmed"]


def test_cancelling_twice_or_after_the_start_is_refused(
    tid: int, client_user: Any, make_user: Any, now: datetime
) -> None:
    first = book(client_user.id, tid, THU_10, now)
    second = book(client_user.id, tid, THU_11, now)
    svc.cancel_booking(booking_id=first.id, actor_id=client_user.id, now=now)
    with pytest.raises(ConflictError) as exc:
        svc.cancel_booking(booking_id=first.id, actor_id=client_user.id, now=now)
    assert reason_of(exc) == "not_active"
    with pytest.raises(ConflictError) as exc:
        svc.cancel_booking(booking_id=second.id, actor_id=client_user.id, now=THU_11)
    assert reason_of(exc) == "already_started"
    with pytest.raises(NotFoundError):
        svc.cancel_booking(booking_id=second.id, actor_id=make_user("client").id, now=now)
    with pytest.raises(ValidationError):
        svc.cancel_booking(booking_id=second.id, actor_id=client_user.id, now=now, scope="all")


def test_cancelled_slot_can_be_booked_again(
    tid: int, client_user: Any, make_user: Any, now: datetime
) -> None:
    booking = book(client_user.id, tid, THU_10, now)
    svc.cancel_booking(booking_id=booking.id, actor_id=client_user.id, now=now)
    assert book(make_user("client").id, tid, THU_10, now).status == "confirmed"


# --- holds -------------------------------------------------------------------------


def test_a_live_hold_blocks_and_an_expired_hold_does_not(
    tid: int, client_user: Any, make_user: Any, now: datetime
) -> None:
    held = book(client_user.id, tid, THU_10, now, hold_minutes=10)
    held_id = held.id
    assert held.status == "held" and held.hold_expires_at == now + timedelta(minutes=10)
    other = make_user("client").id
    with pytest.raises(ConflictError):
        book(other, tid, THU_10, now + timedelta(minutes=5))
    slots = svc.list_slots(
        therapist_id=tid,
        from_date=date(2026, 12, 3),
        to_date=date(2026, 12, 3),
        setting="online",
        now=now + timedelta(minutes=11),
        is_new_client=True,
    )
    assert THU_10 in [s.start for s in slots]
    winner = book(other, tid, THU_10, now + timedelta(minutes=11))
    assert winner.status == "confirmed"
    assert _db.session.get(Booking, held_id).status == "expired"
    with pytest.raises(ConflictError) as exc:
        svc.confirm_hold(booking_id=held_id, now=now + timedelta(minutes=12))
    assert reason_of(exc) == "expired"


def test_confirming_a_live_hold_confirms_and_announces_it(
    tid: int, client_user: Any, now: datetime
) -> None:
    held = book(client_user.id, tid, THU_10, now, hold_minutes=10)
    assert _db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
    confirmed = svc.confirm_hold(booking_id=held.id, now=now + timedelta(minutes=5))
    assert confirmed.status == "confirmed" and confirmed.hold_expires_at is None
    kinds = _db.session.scalars(select(OutboxMessage.kind)).all()
    assert kinds.count("booking_confirmed") == 2


# --- attendance, reading, joining ----------------------------------------------------


def test_attendance_only_after_the_start_and_only_by_the_therapist(
    tid: int, therapist: Any, client_user: Any, make_user: Any, now: datetime
) -> None:
    booking = book(client_user.id, tid, THU_10, now)
    with pytest.raises(ConflictError) as exc:
        svc.mark_attendance(
            booking_id=booking.id, therapist_user_id=therapist.id, status="completed", now=now
        )
    assert reason_of(exc) == "not_started"
    with pytest.raises(NotFoundError):
        svc.mark_attendance(
            booking_id=booking.id, therapist_user_id=client_user.id, status="completed", now=THU_10
        )
    with pytest.raises(NotFoundError):
        svc.mark_attendance(
            booking_id=booking.id,
            therapist_user_id=make_user("therapist").id,
            status="completed",
            now=THU_10,
        )
    done = svc.mark_attendance(
        booking_id=booking.id, therapist_user_id=therapist.id, status="no_show", now=THU_10
    )
    assert done.status == "no_show"
    with pytest.raises(ConflictError) as exc:
        svc.mark_attendance(
            booking_id=booking.id, therapist_user_id=therapist.id, status="completed", now=THU_10
        )
    assert reason_of(exc) == "invalid_transition"


def test_list_bookings_splits_upcoming_and_past_for_both_parties(
    tid: int, therapist: Any, client_user: Any, now: datetime
) -> None:
    first = book(client_user.id, tid, THU_10, now)
    second = book(client_user.id, tid, THU_11, now)
    svc.cancel_booking(booking_id=second.id, actor_id=client_user.id, now=now)
    for user in (client_user, therapist):
        upcoming = svc.list_bookings_for(user_id=user.id, now=now, when="upcoming")
        past = svc.list_bookings_for(user_id=user.id, now=now, when="past")
        assert [b.id for b in upcoming] == [first.id]
        assert [b.id for b in past] == [second.id]


def test_get_booking_is_not_found_for_strangers(
    tid: int, client_user: Any, make_user: Any, now: datetime
) -> None:
    booking = book(client_user.id, tid, THU_10, now)
    assert svc.get_booking_for(booking_id=booking.id, user_id=client_user.id).id == booking.id
    with pytest.raises(NotFoundError):
        svc.get_booking_for(booking_id=booking.id, user_id=make_user("client").id)
    with pytest.raises(NotFoundError):
        svc.get_booking_for(booking_id=booking.id, user_id=make_user("admin").id)


def test_join_link_opens_fifteen_minutes_before_until_the_end(
    tid: int, client_user: Any, now: datetime, app: Any
) -> None:
    app.extensions["gateways"].video = VideoRooms("https://video.example.org/")
    booking = book(client_user.id, tid, THU_10, now)
    assert svc.join_link(booking=booking, now=THU_10 - timedelta(minutes=16)) is None
    url = svc.join_link(booking=booking, now=THU_10 - timedelta(minutes=15))
    assert url == f"https://video.example.org/{booking.video_room}"
    assert svc.join_link(booking=booking, now=booking.end_at) is None


def test_list_slots_leaves_out_booked_time_and_checks_the_range(
    tid: int, client_user: Any, now: datetime
) -> None:
    book(client_user.id, tid, THU_10, now)
    slots = svc.list_slots(
        therapist_id=tid,
        from_date=date(2026, 12, 3),
        to_date=date(2026, 12, 3),
        setting=None,
        now=now,
        is_new_client=True,
    )
    starts = [s.start for s in slots]
    assert THU_10 not in starts and THU_11 in starts
    assert len(starts) == 7
    with pytest.raises(ValidationError):
        svc.list_slots(
            therapist_id=tid,
            from_date=date(2026, 12, 3),
            to_date=date(2026, 12, 1),
            setting=None,
            now=now,
            is_new_client=True,
        )
    with pytest.raises(ValidationError):
        svc.list_slots(
            therapist_id=tid,
            from_date=date(2026, 12, 3),
            to_date=date(2027, 3, 3),
            setting=None,
            now=now,
            is_new_client=True,
        )


# --- matching's hard filters and the price -------------------------------------------


def test_client_in_a_state_where_the_therapist_is_not_licensed_cannot_book_online(
    tid: int, make_user: Any, now: datetime
) -> None:
    far_away = make_user("client", state="CA", zip="94110")
    with pytest.raises(ConflictError) as caught:
        book(far_away.id, tid, THU_10, now)
    assert reason_of(caught) == "not_licensed_in_state"
    assert count(Booking) == 0


def test_client_without_a_location_is_asked_for_one(
    tid: int, make_user: Any, now: datetime
) -> None:
    nowhere = make_user("client", state=None, zip=None)
    with pytest.raises(ConflictError) as caught:
        book(nowhere.id, tid, THU_10, now)
    assert reason_of(caught) == "client_location_unknown"


def test_booked_price_is_the_therapists_price_for_the_clients_band_and_stays(
    tid: int, client_user: Any, now: datetime
) -> None:
    from teletherapy.models import ClientProfile, TherapistFee

    profile = _db.session.scalar(
        select(ClientProfile).where(ClientProfile.user_id == client_user.id)
    )
    profile.fee_band = "a"
    _db.session.commit()
    booking = book(client_user.id, tid, THU_10, now)
    assert (booking.fee_cents, booking.fee_band) == (3000, "a")
    fee = _db.session.get(TherapistFee, (tid, "a"))
    fee.fee_cents = 3500  # a later price change does not touch booked sessions
    _db.session.commit()
    _db.session.expire_all()
    assert _db.session.get(Booking, booking.id).fee_cents == 3000


def test_a_no_show_records_the_therapists_late_cancel_fee(
    tid: int, therapist: Any, client_user: Any, now: datetime
) -> None:
    from teletherapy.models import Payment
    from tests.payment_fakes import accept

    accept(therapist, "pay_at_session", late_fee_cents=2000, waive_first=False)
    booking = book(client_user.id, tid, THU_10, now)
    svc.mark_attendance(
        booking_id=booking.id,
        therapist_user_id=therapist.id,
        status="no_show",
        now=THU_10 + timedelta(minutes=20),
    )
    fees = _db.session.scalars(select(Payment).where(Payment.kind == "late_fee")).all()
    assert [(f.booking_id, f.amount_cents) for f in fees] == [(booking.id, 2000)]
