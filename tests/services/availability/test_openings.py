"""Stored next openings: the same answer as the slot engine, kept in the writers' commits."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from teletherapy.clock import utcnow
from teletherapy.domain.errors import ConflictError, ValidationError
from teletherapy.domain.slots import Schedule, next_opening
from teletherapy.models import TherapistOpening, TherapistProfile, User
from teletherapy.services.availability.openings import (
    HORIZON_STEP,
    compute_row,
    refresh_due_openings,
    stored_next_openings,
)
from teletherapy.services.availability.rules import get_availability, save_availability
from teletherapy.services.availability.schedules import load_schedules

COLUMNS = {"online": "online_at", "in_office": "in_office_at", "home": "home_at", None: "any_at"}


def _engine(schedule: Schedule, setting: str | None, at: Any) -> Any:
    slot = next_opening(schedule, at, setting, is_new_client=True)
    return None if slot is None else slot.start


def _assert_rows_match_the_engine(db: Any) -> int:
    """Every therapist has a current row, and each column is the engine's answer then."""
    ids = list(db.session.scalars(select(TherapistProfile.id)))
    rows = {r.therapist_id: r for r in db.session.scalars(select(TherapistOpening))}
    assert set(rows) == set(ids)
    checked = 0
    for therapist_id, row in rows.items():
        schedule = load_schedules([therapist_id], now=row.computed_at)[therapist_id]
        for setting, column in COLUMNS.items():
            expected = _engine(schedule, setting, row.computed_at)
            assert getattr(row, column) == expected, (therapist_id, setting)
            checked += 1
        assert row.valid_until >= row.computed_at
    return checked


def test_stored_openings_match_the_engine_after_random_changes(db: Any) -> None:
    from teletherapy.demo.seed import seed_demo
    from teletherapy.services.bookings.book import book_session
    from teletherapy.services.bookings.change import cancel_booking
    from teletherapy.services.bookings.queries import list_slots

    seed_demo(therapists=12, clients=10, seed=4)
    assert _assert_rows_match_the_engine(db) == 12 * 4
    rng = random.Random(14)
    now = utcnow()
    clients = list(db.session.scalars(select(User.id).where(User.role == "client")))
    ids = list(db.session.scalars(select(TherapistProfile.id).order_by(TherapistProfile.id)))
    made: list[tuple[int, int]] = []
    changed = 0
    for step in range(24):
        action = rng.choice(("book", "book", "cancel", "availability"))
        if action == "book":
            therapist_id = rng.choice(ids[:5])  # NY therapists the NYC demo clients may book
            setting = rng.choice(("online", "in_office", "home"))
            slots = list_slots(
                therapist_id=therapist_id,
                from_date=now.date(),
                to_date=(now + timedelta(days=6)).date(),
                setting=setting,
                now=now,
                is_new_client=False,
            )
            if not slots:
                continue
            client_id = rng.choice(clients)
            try:
                booked = book_session(
                    client_id=client_id,
                    therapist_id=therapist_id,
                    start=slots[0 if step % 2 else rng.randrange(len(slots))].start,
                    setting=setting,
                    now=now,
                )
            except ConflictError:
                continue
            made.append((booked.first.id, client_id))
        elif action == "cancel" and made:
            booking_id, client_id = made.pop(rng.randrange(len(made)))
            cancel_booking(booking_id=booking_id, actor_id=client_id, now=now)
        else:
            therapist_id = rng.choice(ids)
            weekly = get_availability(therapist_id=therapist_id)["weekly"]
            if weekly and rng.random() < 0.5:
                weekly.pop(rng.randrange(len(weekly)))
            else:
                weekly.append(
                    {"weekday": now.weekday(), "start": "06:00", "end": "08:00", "setting": "home"}
                )
            try:
                save_availability(
                    therapist_id=therapist_id,
                    payload={"weekly": weekly, "min_notice_hours": rng.choice((2, 24))},
                )
            except ValidationError:  # the early window overlaps one added before
                continue
            changed += 1
        _assert_rows_match_the_engine(db)
    assert made and changed, "the random walk booked and changed availability"
    # Reading: a current row answers; the engine agrees at the same instant.
    at = utcnow()
    for setting in COLUMNS:
        stored = stored_next_openings(ids, setting=setting, now=at)
        schedules = load_schedules(ids, now=at)
        assert stored == {tid: _engine(schedules[tid], setting, at) for tid in ids}


def test_rows_past_valid_until_are_answered_by_the_engine_and_refreshed_by_the_job(
    db: Any,
) -> None:
    from teletherapy.demo.seed import seed_demo

    seed_demo(therapists=3, clients=0, seed=2)
    rows = list(db.session.scalars(select(TherapistOpening)))
    later = max(r.valid_until for r in rows) + timedelta(minutes=5)
    ids = [r.therapist_id for r in rows]
    schedules = load_schedules(ids, now=later)
    expected = {tid: _engine(schedules[tid], "online", later) for tid in ids}
    assert stored_next_openings(ids, setting="online", now=later) == expected
    assert refresh_due_openings(now=later) == 3
    db.session.expire_all()
    refreshed = {r.therapist_id: r for r in db.session.scalars(select(TherapistOpening))}
    assert {tid: refreshed[tid].online_at for tid in ids} == expected
    assert all(r.computed_at == later for r in refreshed.values())
    assert refresh_due_openings(now=later) == 0  # nothing due any more
    assert stored_next_openings([], setting=None, now=later) == {}


def test_a_setting_with_hours_but_no_opening_is_rechecked_as_the_horizon_moves(
    db: Any, now: Any
) -> None:
    from teletherapy.domain.availability import AvailabilitySettings, WeeklyRule

    schedule = Schedule(
        settings=AvailabilitySettings(time_zone="UTC", horizon_days=0, min_notice_hours=0),
        rules=(WeeklyRule(now.weekday(), now.time().replace(hour=1), now.time(), "home"),),
        overrides=(),
        booked=(),
    )
    row = compute_row(1, schedule, now, [now + timedelta(hours=5)])
    assert row["home_at"] is None and row["online_at"] is None
    assert row["valid_until"] == now + HORIZON_STEP
    closed = Schedule(
        settings=AvailabilitySettings(time_zone="UTC", accepting_new_clients=False),
        rules=schedule.rules,
        overrides=(),
        booked=(),
    )
    assert compute_row(1, closed, now, [])["valid_until"] == now + timedelta(days=1)


def test_a_change_flushed_only_by_the_commit_rewrites_the_row(db: Any) -> None:
    from teletherapy.demo.seed import seed_demo
    from teletherapy.models import AvailabilitySettings

    seed_demo(therapists=2, clients=0, seed=3)
    therapist_id = db.session.scalars(
        select(TherapistProfile.id).order_by(TherapistProfile.id)
    ).first()
    before = db.session.get(TherapistOpening, therapist_id).online_at
    settings = db.session.get(AvailabilitySettings, therapist_id)
    settings.min_notice_hours = settings.min_notice_hours + 24 * 7  # a week later at least
    db.session.commit()  # no query in between: only the commit flushes this change
    db.session.expire_all()
    after = db.session.get(TherapistOpening, therapist_id)
    assert after.online_at != before
    _assert_rows_match_the_engine(db)


def test_a_bookings_commit_reads_the_schedule_and_its_holds_in_one_round_trip(
    db: Any,
) -> None:
    """`load_schedule_and_holds` (one round trip on PostgreSQL) says what `load_schedule`
    and the holds' own query say, before and after a hold runs out."""
    from teletherapy.demo.seed import seed_demo
    from teletherapy.services.availability.schedules import (
        hold_expiries,
        load_schedule,
        load_schedule_and_holds,
    )
    from teletherapy.services.bookings.book import book_session
    from teletherapy.services.bookings.queries import list_slots

    seed_demo(therapists=2, clients=3, seed=5)
    now = utcnow()
    therapist_id = min(db.session.scalars(select(TherapistProfile.id)))
    clients = sorted(db.session.scalars(select(User.id).where(User.role == "client")))
    slots = list_slots(
        therapist_id=therapist_id,
        from_date=now.date(),
        to_date=(now + timedelta(days=6)).date(),
        setting="online",
        now=now,
        is_new_client=False,
    )
    for client_id, slot, minutes in zip(clients, slots[::3], (15, 40, None), strict=False):
        book_session(client_id=client_id, therapist_id=therapist_id, start=slot.start,
                     setting="online", now=now, hold_minutes=minutes)  # fmt: skip
    for at in (now, now + timedelta(minutes=20), now + timedelta(minutes=60)):
        schedule, holds = load_schedule_and_holds(therapist_id, now=at)
        assert schedule == load_schedule(therapist_id, now=at)
        assert sorted(holds) == sorted(hold_expiries([therapist_id], at)[therapist_id])
        assert len(holds) == {0: 2, 20: 1, 60: 0}[round((at - now).total_seconds() / 60)]
    assert load_schedule_and_holds(10**9, now=now) == (None, [])
