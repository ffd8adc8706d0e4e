"""Equity recording: searches without identity, first search -> first booking as hours only."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, text

from teletherapy.extensions import db
from teletherapy.jobs import tasks
from teletherapy.models import EquityCareStart, EquityFirstSearch, EquitySearch
from teletherapy.services import bookings as booking
from teletherapy.services.equity import recording
from teletherapy.services.matching.search import find_matches
from tests.booking_setup import set_availability

THU_10 = datetime(2026, 12, 3, 15, 0, tzinfo=UTC)  # Thu 10:00 in New York


def count(model: Any) -> int:
    return int(db.session.scalar(select(func.count()).select_from(model)))


def search(client_id: int | None, now: datetime, **payload: Any) -> Any:
    body = {"setting": "online", "state": "NY", **payload}
    return find_matches(request_payload=body, client_id=client_id, now=now)


def test_an_anonymous_search_is_one_row_without_identity_truncated_to_the_hour(
    app: Any, now: datetime
) -> None:
    at = now + timedelta(minutes=37, seconds=5)
    search(
        None,
        at,
        fee_band="b",
        languages=[{"code": "es", "required": True}, {"code": "zh"}, {"code": "en"}],
    )
    row = db.session.scalars(select(EquitySearch)).one()
    assert row.searched_at == now.replace(minute=0)
    assert (row.fee_band, row.setting, row.state) == ("b", "online", "NY")
    assert (row.required_languages, row.preferred_languages) == ("es", "en,zh")
    assert (row.result_count, row.most_removed_by) == (0, "no_therapist_in_place")
    assert count(EquityFirstSearch) == 0
    assert not hasattr(row, "user_id")


def test_a_search_with_matches_counts_them_and_names_no_filter(
    app: Any, make_user: Any, now: datetime
) -> None:
    set_availability(make_user("therapist", display_name="Dr Ana"))
    set_availability(make_user("therapist", display_name="Dr Bo"))
    search(None, now, fee_band="a")
    row = db.session.scalars(select(EquitySearch)).one()
    assert (row.result_count, row.most_removed_by) == (2, None)


def test_a_search_that_filters_everyone_out_names_the_filter_that_removed_most(
    app: Any, make_user: Any, now: datetime
) -> None:
    set_availability(make_user("therapist", display_name="Dr Ana"))  # English only
    search(None, now, languages=[{"code": "vi", "required": True}])
    row = db.session.scalars(select(EquitySearch)).one()
    assert (row.result_count, row.most_removed_by) == (0, "language_required")


def test_a_clients_first_search_becomes_elapsed_hours_at_their_first_booking(
    app: Any, make_user: Any, now: datetime
) -> None:
    tid = set_availability(make_user("therapist", display_name="Dr Ana"))
    client = make_user("client")
    search(client.id, now - timedelta(hours=30), languages=[{"code": "en"}], fee_band="c")
    search(client.id, now - timedelta(hours=2), fee_band="a")  # not the first: kept as is
    pending = db.session.get(EquityFirstSearch, client.id)
    assert pending is not None and pending.fee_band == "c" and pending.language == "en"

    booking.book_session(
        client_id=client.id, therapist_id=tid, start=THU_10, setting="online", now=now
    )
    assert count(EquityFirstSearch) == 0
    start = db.session.scalars(select(EquityCareStart)).one()
    assert start.searched_on == date(2026, 11, 30)
    place = (start.fee_band, start.setting, start.state, start.language)
    assert place == ("c", "online", "NY", "en")
    assert start.hours_to_booking == 30
    assert start.hours_to_first_session == 30 + 49  # Thu 15:00Z is 49 h after Tue 14:00Z
    assert count(EquitySearch) == 2

    search(client.id, now + timedelta(days=1))  # a client who has booked is not new
    assert count(EquityFirstSearch) == 0


def test_a_first_search_with_no_booking_loses_its_owner_after_thirty_days(
    app: Any, make_user: Any, now: datetime
) -> None:
    client = make_user("client")
    search(client.id, now - timedelta(days=31), fee_band="a")
    search(None, now)  # a search condenses nothing (it stays cheap): the job does
    assert count(EquityFirstSearch) == 1
    db.session.commit()
    tasks.condense_equity(app)  # in its own app context and session, as the scheduler runs it
    db.session.rollback()
    assert count(EquityFirstSearch) == 0
    start = db.session.scalars(select(EquityCareStart)).one()
    assert (start.hours_to_booking, start.hours_to_first_session, start.fee_band) == (
        None,
        None,
        "a",
    )


def test_a_booking_without_a_recorded_search_records_nothing(
    app: Any, make_user: Any, now: datetime
) -> None:
    tid = set_availability(make_user("therapist", display_name="Dr Ana"))
    client = make_user("client")
    booking.book_session(
        client_id=client.id, therapist_id=tid, start=THU_10, setting="online", now=now
    )
    assert count(EquityCareStart) == 0 and count(EquityFirstSearch) == 0
    assert recording.condense_stale_first_searches(now=now) == 0


def test_a_search_commits_without_waiting_for_the_flush_and_only_its_own_transaction(
    app: Any, make_user: Any, now: datetime, database_url: str
) -> None:
    """Statistics and saved answers: `SET LOCAL` in the search's transaction (PostgreSQL),
    so the connection is back to a durable commit for whatever it serves next."""
    from sqlalchemy import event

    set_availability(make_user("therapist", display_name="Dr Ana"))
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        search(None, now, fee_band="a")
    finally:
        event.remove(engine, "before_cursor_execute", record)
    relaxed = [s for s in statements if "synchronous_commit" in s]
    if database_url.startswith("sqlite"):
        assert relaxed == []
        return
    assert relaxed == ["SET LOCAL synchronous_commit = off"]
    assert count(EquitySearch) == 1
    assert db.session.execute(text("SHOW synchronous_commit")).scalar() == "on"
