"""Real threads racing for one therapist's time: exactly one winner, clean 409s, no deadlock."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from teletherapy.domain.errors import ConflictError
from teletherapy.extensions import db as _db
from teletherapy.models import Booking
from teletherapy.services import bookings as svc
from tests.booking_setup import quick_clients, set_availability

THU_10 = datetime(2026, 12, 3, 15, 0, tzinfo=UTC)  # Thu 10:00 New York
JOIN_TIMEOUT = 120
RACERS = 50


@pytest.fixture
def app_config() -> dict[str, Any]:
    """A pool as large as the race: what these tests check is who wins the calendar, not
    how long a request waits for a connection (an exhausted pool answers 503 after the
    connect timeout, which a loaded CI machine reached once with the default 5 + 10)."""
    return {"SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": RACERS, "max_overflow": 10}}


def race(app: Flask, calls: list[Callable[[], Any]]) -> list[Any]:
    """Run every call in its own thread and app context (so its own session), all at once.

    Each result is the return value or the exception raised.
    """
    # End this thread's transaction: on SQLite even a read holds the write lock (BEGIN IMMEDIATE).
    _db.session.rollback()
    results: list[Any] = [None] * len(calls)
    barrier = threading.Barrier(len(calls))

    def run(index: int, call: Callable[[], Any]) -> None:
        with app.app_context():
            try:
                barrier.wait(timeout=30)
                value = call()
                # Rows are detached once the thread's context ends: keep their id.
                results[index] = ("ok", getattr(value, "id", value))
            except Exception as exc:  # collected and asserted on by the test
                results[index] = exc

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(JOIN_TIMEOUT)
    assert not any(t.is_alive() for t in threads), "a thread is stuck (deadlock?)"
    return results


def active_count() -> int:
    _db.session.rollback()  # see the threads' commits
    return int(
        _db.session.scalar(
            select(func.count()).select_from(Booking).where(Booking.status == "confirmed")
        )
    )


def test_fifty_concurrent_bookings_of_one_slot_give_one_booking_and_49_conflicts(
    app: Flask, make_user: Any, now: datetime
) -> None:
    tid = set_availability(make_user("therapist"))
    clients = quick_clients(50)

    def booker(client_id: int) -> Callable[[], Any]:
        return lambda: svc.book_session(
            client_id=client_id, therapist_id=tid, start=THU_10, setting="online", now=now
        )

    results = race(app, [booker(c) for c in clients])
    wins = [r for r in results if isinstance(r, tuple)]
    conflicts = [r for r in results if isinstance(r, ConflictError)]
    others = [r for r in results if not isinstance(r, tuple | ConflictError)]
    assert others == []
    assert len(wins) == 1
    assert len(conflicts) == 49
    assert {c.extra["reason"] for c in conflicts} == {"taken"}
    assert active_count() == 1


def test_concurrent_series_and_single_bookings_never_overlap(
    app: Flask, make_user: Any, now: datetime
) -> None:
    tid = set_availability(make_user("therapist"))
    clients = quick_clients(12)
    calls: list[Callable[[], Any]] = []
    for index, client_id in enumerate(clients):
        week = index % 4
        if index % 2:
            calls.append(
                lambda c=client_id: svc.book_session(
                    client_id=c, therapist_id=tid, start=THU_10, setting="online", now=now,
                    repeat_weekly=4,
                ).first
            )  # fmt: skip
        else:
            calls.append(
                lambda c=client_id, w=week: svc.book_session(
                    client_id=c, therapist_id=tid, start=THU_10 + timedelta(weeks=w),
                    setting="online", now=now,
                ).first
            )  # fmt: skip
    results = race(app, calls)
    assert [r for r in results if not isinstance(r, tuple | ConflictError)] == []
    _db.session.rollback()
    starts = _db.session.scalars(
        select(Booking.start_at).where(Booking.status == "confirmed")
    ).all()
    assert len(starts) == len(set(starts)) >= 1


def test_concurrent_reschedules_into_one_slot_have_one_winner(
    app: Flask, make_user: Any, now: datetime
) -> None:
    tid = set_availability(make_user("therapist"))
    clients = quick_clients(20)
    originals = []
    for index, client_id in enumerate(clients):
        # Thu/Fri of two weeks, 09:00-16:00: 28 free slots; leave THU_10 + 1 day free.
        day = THU_10 + timedelta(weeks=1 + index // 8, days=(index // 4) % 2)
        start = day + timedelta(hours=(index % 4) * 2 - 1)
        booking = svc.book_session(
            client_id=client_id, therapist_id=tid, start=start, setting="online", now=now
        ).first
        originals.append((booking.id, client_id, booking.start_at))
    target = THU_10 + timedelta(days=1)

    def mover(booking_id: int, client_id: int) -> Callable[[], Any]:
        return lambda: svc.reschedule_booking(
            booking_id=booking_id, actor_id=client_id, new_start=target, now=now
        )

    results = race(app, [mover(b, c) for b, c, _ in originals])
    assert [r for r in results if not isinstance(r, tuple | ConflictError)] == []
    assert len([r for r in results if isinstance(r, tuple)]) == 1
    assert {r.extra["reason"] for r in results if isinstance(r, ConflictError)} == {"taken"}
    _db.session.rollback()
    active = _db.session.scalars(select(Booking).where(Booking.status == "confirmed")).all()
    assert len(active) == 20  # 19 originals untouched + the moved one
    assert sum(1 for b in active if b.start_at == target) == 1
    losers = {b.id: b.start_at for b in active if b.rescheduled_from_id is None}
    assert all(losers[bid] == start for bid, _, start in originals if bid in losers)
    assert len(losers) == 19


def test_concurrent_retries_with_one_idempotency_key_make_one_booking(
    app: Flask, make_user: Any, now: datetime
) -> None:
    tid = set_availability(make_user("therapist"))
    (client_id,) = quick_clients(1)

    def retry() -> Any:
        return svc.book_session(
            client_id=client_id,
            therapist_id=tid,
            start=THU_10,
            setting="online",
            now=now,
            idempotency_key="same-key",
        ).first

    results = race(app, [retry for _ in range(10)])
    assert all(isinstance(r, tuple) for r in results), results
    assert len({r[1] for r in results}) == 1
    assert active_count() == 1


def test_fifty_concurrent_api_requests_for_one_slot_get_one_201_and_409s(
    app: Flask, make_user: Any, monkeypatch: Any, now: datetime
) -> None:
    """Through HTTP (a real threaded server): losers get a clean 409, never a 500."""
    import json
    import secrets
    import urllib.error
    import urllib.request

    from werkzeug.serving import make_server

    import teletherapy.web.bookings.api as api
    from teletherapy.models import ApiToken
    from teletherapy.services.accounts.users import token_digest
    from tests.peers import free_port

    monkeypatch.setattr(api, "utcnow", lambda: now)
    tid = set_availability(make_user("therapist"))
    tokens = []
    for client_id in quick_clients(50):
        token = secrets.token_urlsafe(24)
        _db.session.add(ApiToken(user_id=client_id, token_hash=token_digest(token)))
        tokens.append(token)
    _db.session.commit()
    _db.session.rollback()
    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    serving = threading.Thread(target=server.serve_forever, daemon=True)
    serving.start()
    body = json.dumps({"therapist_id": tid, "start": "2026-12-03T15:00:00Z", "setting": "online"})

    def post(token: str) -> Callable[[], Any]:
        def call() -> Any:
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/api/v1/bookings",
                data=body.encode(),
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            )
            try:
                with urllib.request.urlopen(request, timeout=60) as answer:
                    status, payload = answer.status, json.load(answer)
            except urllib.error.HTTPError as error:
                status, payload = error.code, json.load(error)
            return status, payload.get("reason")

        return call

    try:
        results = race(app, [post(t) for t in tokens])
    finally:
        server.shutdown()
        serving.join(10)
    answers = Counter(r[1] if isinstance(r, tuple) else repr(r) for r in results)
    assert answers == {(201, None): 1, (409, "taken"): 49}
    assert active_count() == 1


def test_concurrent_bookings_of_different_slots_one_day_keep_the_day_cap(
    app: Flask, make_user: Any, now: datetime
) -> None:
    """Different slots, so the exclusion constraint cannot decide: the check under the
    calendar lock must see the others' committed rows. One booking that day, the rest 409."""
    tid = set_availability(make_user("therapist"), max_per_day=1)
    clients = quick_clients(8)
    starts = [THU_10 + timedelta(hours=h - 1) for h in range(7)] + [THU_10]

    def booker(client_id: int, start: datetime) -> Callable[[], Any]:
        return lambda: (
            svc.book_session(
                client_id=client_id, therapist_id=tid, start=start, setting="online", now=now
            ).first
        )

    results = race(app, [booker(c, s) for c, s in zip(clients, starts, strict=True)])
    assert [r for r in results if not isinstance(r, tuple | ConflictError)] == []
    assert len([r for r in results if isinstance(r, tuple)]) == 1
    reasons = {r.extra["reason"] for r in results if isinstance(r, ConflictError)}
    assert reasons <= {"day_cap", "taken"}
    assert active_count() == 1


def test_bookings_and_reschedules_into_one_day_keep_the_day_cap(
    app: Flask, make_user: Any, now: datetime
) -> None:
    """Reschedules and bookings take turns on the calendar lock: the day cap holds across
    both, with clean 409s and no deadlock. (It caught a split of the lock, bookings under
    a lock of their own, that let one of each win: branch `book2`, reverted.)"""
    tid = set_availability(make_user("therapist"), max_per_day=1)
    clients = quick_clients(24)
    friday = THU_10 + timedelta(days=1)
    weekdays = [friday + timedelta(days=d) for d in range(3, 30) if (4 + d) % 7 < 5]
    movers: list[Callable[[], Any]] = []
    for index, client_id in enumerate(clients[:12]):
        booking = svc.book_session(
            client_id=client_id, therapist_id=tid, start=weekdays[index], setting="online",
            now=now,
        ).first  # fmt: skip
        movers.append(
            lambda b=booking.id, c=client_id, h=index % 6: svc.reschedule_booking(
                booking_id=b, actor_id=c, new_start=friday + timedelta(hours=h - 1), now=now
            )
        )
    bookers: list[Callable[[], Any]] = [
        lambda c=client_id, h=index % 6: (
            svc.book_session(
                client_id=c,
                therapist_id=tid,
                start=friday + timedelta(hours=h),
                setting="online",
                now=now,
            ).first
        )
        for index, client_id in enumerate(clients[12:])
    ]
    calls = [call for pair in zip(movers, bookers, strict=True) for call in pair]
    results = race(app, calls)
    assert [r for r in results if not isinstance(r, tuple | ConflictError)] == []
    assert len([r for r in results if isinstance(r, tuple)]) == 1
    _db.session.rollback()
    on_friday = _db.session.scalar(
        select(func.count())
        .select_from(Booking)
        .where(
            Booking.status == "confirmed",
            Booking.start_at >= friday - timedelta(hours=2),
            Booking.start_at < friday + timedelta(hours=10),
        )
    )
    assert on_friday == 1
