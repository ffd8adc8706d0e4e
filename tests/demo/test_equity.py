"""Demo equity history: real searches, bookings and attendance, and no mail from the past."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from teletherapy.demo.equity import seed_demo_equity
from teletherapy.demo.seed import seed_demo
from teletherapy.models import (
    Booking,
    EquityCareStart,
    EquitySearch,
    OutboxMessage,
    Screening,
    User,
)
from teletherapy.services.equity import care
from tests.matching_helpers import reseed_fee_tables


def count(db: Any, *where: Any, model: Any = Booking) -> int:
    return int(db.session.scalar(select(func.count()).select_from(model).where(*where)))


def test_demo_history_goes_through_the_real_services(db: Any, now: datetime) -> None:
    reseed_fee_tables()
    seed_demo(therapists=8, clients=2, seed=1)  # small: the equity history is not added
    assert count(db, model=EquitySearch) == 0
    made = seed_demo_equity(now=now, seed=1, clients=16)
    assert made["searches"] == count(db, model=EquitySearch) > 0
    assert made["bookings"] > 0
    assert count(db, Booking.client_id.is_not(None), Booking.created_at < now) > 0
    assert count(db, Booking.status.in_(("completed", "no_show"))) > 0
    assert count(db, model=EquityCareStart) > 0  # first searches turned into elapsed hours
    pending_past = count(
        db, OutboxMessage.status == "pending", OutboxMessage.due_at < now, model=OutboxMessage
    )
    assert pending_past == 0
    # Clients with two completed sessions or more answered the PHQ-9 at the first and the
    # latest: the outcomes section has something to compare.
    assert made["screened"] > 0
    equity_clients = select(User.id).where(User.email.like("equity%"))
    screenings = count(db, Screening.client_id.in_(equity_clients), model=Screening)
    assert screenings == 2 * made["screened"]
    observed = care.outcomes(now - timedelta(days=100), now + timedelta(days=1))
    assert len(observed) >= made["screened"]
