"""The demo seed obeys every invariant: no overlapping sessions, no overfull groups, and
every session priced at the therapist's price for the client's band."""

from __future__ import annotations

from itertools import combinations
from typing import Any

from flask import Flask
from sqlalchemy import select

from teletherapy.domain.booking import BookingStatus
from teletherapy.extensions import db as _db
from teletherapy.models import Booking, TherapyGroup
from teletherapy.services.matching.search import price_for_client

# Sessions that took or take place: two of them must never overlap for one therapist.
HAPPENING = (
    BookingStatus.HELD,
    BookingStatus.CONFIRMED,
    BookingStatus.COMPLETED,
    BookingStatus.NO_SHOW,
)


def test_the_demo_seed_obeys_every_invariant(app: Flask, db: Any) -> None:
    result = app.test_cli_runner().invoke(
        args=["seed-demo", "--therapists", "8", "--clients", "12", "--seed", "5"]
    )
    assert result.exit_code == 0, result.output
    rows = _db.session.scalars(
        select(Booking).where(
            Booking.status.in_(HAPPENING),
            # A member's own row of a group meeting never takes the therapist's time.
            ~(Booking.group_id.is_not(None) & Booking.client_id.is_not(None)),
        )
    ).all()
    assert rows
    by_therapist: dict[int, list[Booking]] = {}
    for row in rows:
        by_therapist.setdefault(row.therapist_id, []).append(row)
    overlaps = [
        (a.id, b.id)
        for sessions in by_therapist.values()
        for a, b in combinations(sessions, 2)
        if a.blocked_start_at < b.blocked_end_at and b.blocked_start_at < a.blocked_end_at
    ]
    assert overlaps == []
    for group in _db.session.scalars(select(TherapyGroup)):
        assert 0 <= group.seats_taken <= group.capacity
    individual = [r for r in rows if r.group_id is None and r.client_id is not None]
    assert individual
    for row in individual:
        assert row.client_id is not None
        fee_cents, fee_band = price_for_client(
            therapist_id=row.therapist_id, client_id=row.client_id
        )
        assert (row.fee_cents, row.fee_band) == (fee_cents, fee_band), row.id
    # A demo client's history with their demo therapist is one weekly hour of the
    # therapist's working day, across DST (not the hour the demo happened to be seeded).
    from zoneinfo import ZoneInfo

    history: dict[tuple[int, int], set[tuple[int, int]]] = {}
    for row in individual:
        if row.status == BookingStatus.COMPLETED and row.client_id is not None:
            local = row.start_at.astimezone(ZoneInfo(row.time_zone))
            key = (row.client_id, row.therapist_id)
            history.setdefault(key, set()).add((local.hour, local.minute))
    assert history
    for times in history.values():
        assert len(times) == 1
        assert 8 <= next(iter(times))[0] <= 17
