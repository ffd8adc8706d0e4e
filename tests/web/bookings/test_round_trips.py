"""What one booking request reads: the refused many of a contended slot stop after their
token and one read of the therapist; a winner reads nothing twice."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import event

from teletherapy.domain.errors import NotFoundError
from teletherapy.extensions import db
from teletherapy.models import Booking, TherapistPaymentSettings, User
from teletherapy.services.bookings import hold_minutes_for, queries
from teletherapy.services.bookings.book import hold_minutes_from
from tests.booking_setup import set_availability

THU_10 = "2026-12-03T15:00:00Z"  # Thu 10:00 New York


@pytest.fixture(autouse=True)
def frozen_now(monkeypatch: Any, now: datetime) -> datetime:
    import teletherapy.web.bookings.api as api

    monkeypatch.setattr(api, "utcnow", lambda: now)
    return now


@contextmanager
def recorded() -> Iterator[list[str]]:
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(" ".join(statement.split()))

    engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def book(client: FlaskClient, headers: dict[str, str], tid: int) -> Any:
    body = {"therapist_id": tid, "start": THU_10, "setting": "online"}
    return client.post("/api/v1/bookings", headers=headers, json=body)


def test_a_refused_booking_reads_its_token_and_one_view_of_the_therapist(
    client: FlaskClient, make_user: Any, api_token: Any
) -> None:
    tid = set_availability(make_user("therapist"))
    assert book(client, dict(api_token(make_user("client"))), tid).status_code == 201
    loser = dict(api_token(make_user("client", language="es")))
    assert book(client, loser, tid).status_code == 409  # records the token's use
    with recorded() as statements:
        refused = book(client, loser, tid)
    assert refused.status_code == 409
    assert refused.get_json()["reason"] == "taken"
    # Still in the person's language, without reading the account again after the
    # refusal's rollback (which expires it).
    assert refused.get_json()["detail"] == "Ese horario ya no está disponible; elija otro."
    assert not any(s.startswith(("INSERT", "UPDATE", "DELETE")) for s in statements)
    if db.engine.dialect.name == "postgresql":
        assert len(statements) == 2, statements  # the token with its user; the view


def test_a_winning_booking_reads_nothing_twice(
    client: FlaskClient, make_user: Any, api_token: Any
) -> None:
    tid = set_availability(make_user("therapist"))
    headers = dict(api_token(make_user("client")))
    with recorded() as statements:
        assert book(client, headers, tid).status_code == 201
    reads = [s for s in statements if s.startswith("SELECT")]
    assert not [s for s in reads if "FROM booking_calendar_entries" in s]  # it is new
    assert len([s for s in reads if "FROM fee_bands" in s]) == 1
    assert len([s for s in reads if "FROM client_profiles" in s]) == 1
    entries = [s for s in statements if "booking_calendar_entries" in s]
    assert len(entries) == 1 and entries[0].startswith("INSERT")
    # Both invites and every reminder in one INSERT (they were flushed one query at a time).
    if db.engine.dialect.name == "postgresql":  # SQLite's driver inserts row by row
        assert len([s for s in statements if s.startswith("INSERT INTO outbox_messages")]) == 1


def test_the_booking_view_is_the_three_reads_it_replaces(
    app: Any, make_user: Any, now: datetime
) -> None:
    therapist = make_user("therapist")
    tid = set_availability(therapist)
    client = make_user("client")
    other = make_user("client")

    def add(client_id: int | None, status: str, days: int, group_id: int | None = None) -> None:
        start = now + timedelta(days=days)
        db.session.add(
            Booking(therapist_id=tid, client_id=client_id, group_id=group_id, status=status,
                    setting="online", start_at=start, end_at=start + timedelta(minutes=50),
                    blocked_start_at=start, blocked_end_at=start + timedelta(minutes=60),
                    time_zone="America/New_York", fee_cents=5000, currency="usd",
                    created_at=now, updated_at=now)
        )  # fmt: skip
        db.session.commit()

    def agrees(client_id: int) -> bool:
        view = queries.booking_view(therapist_id=tid, client_id=client_id, now=now)
        assert view.schedule == queries.schedule_for(tid, now=now)
        separate = queries.is_new_client(client_id=client_id, therapist_id=tid)
        assert view.is_new_client == separate
        row = db.session.get(TherapistPaymentSettings, tid)
        saved = row and (row.accepts_pay_now, row.accepts_card_on_file, row.accepts_pay_at_session)
        assert view.payment == saved
        assert hold_minutes_from(view.payment) == hold_minutes_for(therapist_id=tid)
        return view.is_new_client

    assert agrees(client.id)
    for methods in [(True, False, False), (False, True, True)]:  # and none saved, above
        db.session.merge(
            TherapistPaymentSettings(therapist_id=tid, accepts_pay_now=methods[0],
                                     accepts_card_on_file=methods[1],
                                     accepts_pay_at_session=methods[2])
        )  # fmt: skip
        db.session.commit()
        assert agrees(client.id)
    add(client.id, "cancelled", 2)
    add(other.id, "confirmed", 3)
    assert agrees(client.id)  # a cancelled session does not make a client
    add(client.id, "completed", -20)
    assert not agrees(client.id)
    assert agrees(make_user("client").id)
    db.session.get(User, therapist.id).status = "disabled"
    db.session.commit()
    with pytest.raises(NotFoundError):
        queries.booking_view(therapist_id=tid, client_id=client.id, now=now)
    with pytest.raises(NotFoundError):
        queries.booking_view(therapist_id=tid + 999, client_id=client.id, now=now)
