"""Loading schedules: one round trip (one therapist or a few) equals the bulk loader's answer."""

from __future__ import annotations

from datetime import time, timedelta
from typing import Any

from sqlalchemy import event, select

from teletherapy.clock import utcnow
from teletherapy.domain.errors import ConflictError
from teletherapy.models import AvailabilityOverride, TherapistProfile, User
from teletherapy.services.availability.schedules import (
    load_schedule,
    load_schedules,
    load_schedules_at_once,
)


def test_one_therapist_loaded_at_once_equals_the_bulk_loader(db: Any) -> None:
    from teletherapy.demo.seed import seed_demo
    from teletherapy.services.bookings.book import book_session
    from teletherapy.services.bookings.change import cancel_booking
    from teletherapy.services.bookings.queries import list_slots

    seed_demo(therapists=6, clients=10, seed=3)
    now = utcnow()
    ids = list(db.session.scalars(select(TherapistProfile.id).order_by(TherapistProfile.id)))
    clients = list(db.session.scalars(select(User.id).where(User.role == "client")))
    # A day off, other hours on another day (with and without a setting), on the first.
    db.session.add_all(
        [
            AvailabilityOverride(therapist_id=ids[0], on_date=(now + timedelta(days=3)).date()),
            AvailabilityOverride(
                therapist_id=ids[0], on_date=(now + timedelta(days=4)).date(),
                is_available=True, start_time=time(10), end_time=time(0), setting="online",
            ),
            AvailabilityOverride(therapist_id=ids[0], on_date=(now - timedelta(days=5)).date()),
        ]
    )  # fmt: skip
    db.session.commit()
    made = []
    for index, therapist_id in enumerate(ids[:3]):
        slots = list_slots(
            therapist_id=therapist_id, from_date=now.date(),
            to_date=(now + timedelta(days=9)).date(), setting="online", now=now,
            is_new_client=False,
        )  # fmt: skip
        for number, slot in enumerate(slots[:6:2]):
            try:
                made.append(
                    book_session(
                        client_id=clients[(index + number) % len(clients)],
                        therapist_id=therapist_id, start=slot.start, setting="online", now=now,
                        hold_minutes=30 if number == 1 else None,  # a hold that lapses
                    ).first
                )  # fmt: skip
            except ConflictError:
                continue
    assert len(made) >= 4
    cancel_booking(booking_id=made[0].id, actor_id=made[0].client_id, now=now)
    statements: list[str] = []
    event.listen(db.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    for at in (now, now + timedelta(hours=1), now + timedelta(days=2)):
        for therapist_id in ids:
            expected = load_schedules([therapist_id], now=at)[therapist_id]
            statements.clear()
            assert load_schedule(therapist_id, now=at) == expected, (therapist_id, at)
            if db.engine.dialect.name == "postgresql":
                assert len(statements) == 1
        # Many at once (matching's preferred times for the shown few): the same answer.
        every = load_schedules(ids, now=at)
        statements.clear()
        assert load_schedules_at_once([*ids, max(ids) + 1], now=at) == every
        if db.engine.dialect.name == "postgresql":
            assert len(statements) == 1
        # Only those a test keeps (asked before their sessions are read): whole schedules.
        asked: list[Any] = []

        def keep(schedule: Any, asked: list[Any] = asked, first: Any = every[ids[0]]) -> bool:
            asked.append(schedule.booked)
            return schedule.rules == first.rules or schedule.overrides != ()

        kept = {tid: s for tid, s in every.items() if keep(s)}
        assert 0 < len(kept) < len(every)
        asked.clear()
        assert load_schedules_at_once(ids, now=at, only_if=keep) == kept
        if db.engine.dialect.name == "postgresql":
            assert asked == [()] * len(ids)  # never shown the sessions
        held = made[1]
        bulk = load_schedules([held.therapist_id], now=at, exclude_booking_ids=[held.id])
        assert (
            load_schedule(held.therapist_id, now=at, exclude_booking_ids=[held.id])
            == (bulk[held.therapist_id])
        )
    assert load_schedule(max(ids) + 1, now=now) is None
