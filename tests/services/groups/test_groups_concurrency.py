"""Group integrity under real concurrency: threads, each with its own app context and session."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import func, select

from teletherapy.domain.errors import ConflictError
from teletherapy.extensions import db as _db
from teletherapy.models import (
    Booking,
    ClientProfile,
    GroupSeat,
    OutboxMessage,
    TherapyGroup,
    User,
)
from teletherapy.services import groups

FIRST = datetime(2026, 12, 8, 23, 0, tzinfo=UTC)


def add_clients(db: Any, count: int, prefix: str = "racer") -> list[int]:
    """Many clients quickly (make_user hashes each password with argon2; these cannot sign in)."""
    users = [
        User(email=f"{prefix}{i}@example.org", password_hash="x", role="client", display_name="R")
        for i in range(count)
    ]
    db.session.add_all(users)
    db.session.flush()
    db.session.add_all(ClientProfile(user_id=u.id) for u in users)
    db.session.commit()
    return [u.id for u in users]


def run_together(app: Flask, jobs: list[Callable[[], object]]) -> list[str]:
    """Start every job at the same instant on its own thread; return each outcome."""
    barrier = threading.Barrier(len(jobs))
    outcomes: list[str] = [""] * len(jobs)

    def worker(index: int, job: Callable[[], object]) -> None:
        with app.app_context():
            try:
                barrier.wait(timeout=30)
                job()
                outcomes[index] = "ok"
            except ConflictError as exc:
                outcomes[index] = str(exc.extra.get("reason"))
            except Exception as exc:  # any other outcome fails the test with its name
                outcomes[index] = f"error: {type(exc).__name__}: {exc}"
            finally:
                _db.session.remove()

    threads = [threading.Thread(target=worker, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    return outcomes


def test_thirty_clients_racing_for_a_group_of_eight_get_eight_seats(
    app: Flask, db: Any, make_user: Any, now: datetime
) -> None:
    therapist = make_user("therapist")
    group = groups.create_group(
        therapist_user_id=therapist.id,
        title="Skills group",
        modality="dbt",
        setting="online",
        capacity=8,
        fee_cents=2000,
        first_start=FIRST,
        duration_minutes=90,
        weekly_count=6,
        now=now,
    )
    group_id = group.id
    client_ids = add_clients(db, 30)
    db.session.remove()

    def take(client_id: int) -> Callable[[], object]:
        return lambda: groups.take_seat(group_id=group_id, client_id=client_id, now=now)

    outcomes = run_together(app, [take(c) for c in client_ids])

    assert Counter(outcomes) == {"ok": 8, "full": 22}
    assert db.session.get(TherapyGroup, group_id).seats_taken == 8
    seats = select(func.count(GroupSeat.id)).where(
        GroupSeat.group_id == group_id, GroupSeat.status == "taken"
    )
    assert db.session.scalar(seats) == 8


def test_the_same_client_racing_for_a_seat_gets_one(
    app: Flask, db: Any, make_user: Any, now: datetime
) -> None:
    therapist = make_user("therapist")
    group_id = groups.create_group(
        therapist_user_id=therapist.id,
        title="Skills group",
        modality="dbt",
        setting="online",
        capacity=8,
        fee_cents=0,
        first_start=FIRST,
        duration_minutes=60,
        weekly_count=2,
        now=now,
    ).id
    client_id = make_user("client").id
    db.session.remove()

    outcomes = run_together(
        app,
        [lambda: groups.take_seat(group_id=group_id, client_id=client_id, now=now)] * 6,
    )

    assert Counter(outcomes) == {"ok": 1, "already_seated": 5}
    assert db.session.get(TherapyGroup, group_id).seats_taken == 1


def test_overlapping_groups_created_at_once_give_one_winner(
    app: Flask, db: Any, make_user: Any, now: datetime
) -> None:
    therapist_user_id = make_user("therapist").id
    db.session.remove()

    def create(offset_minutes: int) -> Callable[[], object]:
        return lambda: groups.create_group(
            therapist_user_id=therapist_user_id,
            title=f"Group {offset_minutes}",
            modality="group",
            setting="online",
            capacity=6,
            fee_cents=0,
            first_start=FIRST + timedelta(minutes=offset_minutes),
            duration_minutes=90,
            weekly_count=4,
            now=now,
        )

    outcomes = run_together(app, [create(m) for m in (0, 15, 30, 45, 60, 75)])

    assert Counter(outcomes) == {"ok": 1, "taken": 5}
    assert db.session.scalar(select(func.count(TherapyGroup.id))) == 1
    assert db.session.scalar(select(func.count(Booking.id))) == 4


def test_seats_freed_while_newcomers_race_go_to_the_waitlist_in_order(
    app: Flask, db: Any, make_user: Any, now: datetime
) -> None:
    therapist = make_user("therapist")
    group_id = groups.create_group(
        therapist_user_id=therapist.id,
        title="Skills group",
        modality="dbt",
        setting="online",
        capacity=5,
        fee_cents=0,
        first_start=FIRST,
        duration_minutes=60,
        weekly_count=2,
        now=now,
    ).id
    seated, waiting, newcomers = (
        add_clients(db, 5),
        add_clients(db, 5, "wait"),
        add_clients(db, 5, "new"),
    )
    for client_id in seated:
        groups.take_seat(group_id=group_id, client_id=client_id, now=now)
    for minute, client_id in enumerate(waiting):
        groups.join_waitlist(
            group_id=group_id, client_id=client_id, now=now + timedelta(minutes=minute)
        )
    db.session.remove()

    def leave(client_id: int) -> Callable[[], object]:
        return lambda: groups.leave_seat(group_id=group_id, client_id=client_id, now=now)

    def take(client_id: int) -> Callable[[], object]:
        return lambda: groups.take_seat(group_id=group_id, client_id=client_id, now=now)

    outcomes = run_together(app, [leave(c) for c in seated] + [take(c) for c in newcomers])

    assert Counter(outcomes) == {"ok": 5, "full": 5}
    assert db.session.get(TherapyGroup, group_id).seats_taken == 5
    holders = select(GroupSeat.client_id).where(
        GroupSeat.group_id == group_id, GroupSeat.status == "taken"
    )
    assert sorted(db.session.scalars(holders)) == sorted(waiting)
    told = select(OutboxMessage.user_id).where(OutboxMessage.kind == "waitlist_seat")
    assert sorted(db.session.scalars(told)) == sorted(waiting)
