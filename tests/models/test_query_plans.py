"""The hot queries' PostgreSQL plans start from the indexes meant for them.

Each test runs the real service, captures the SELECTs it sends, and EXPLAINs them with
sequential scans disabled: on a test-sized table the planner would rightly scan, so what
is checked is that the intended index can serve the query (a missing or unusable index
leaves a Seq Scan even then).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, event
from sqlalchemy.pool import NullPool

from teletherapy.clock import utcnow
from tests.conftest import _truncate_all, _upgrade


@pytest.fixture(scope="module")
def plans_url(postgres_url: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A database of this module's own, made and migrated afresh: the planner weighs
    tables' and indexes' sizes, and the shared test database keeps the pages of every
    earlier test (emptied by DELETE), so its plans depended on which tests ran first."""
    base, _, name = postgres_url.rpartition("/")
    own = f"{name}_plans"
    admin = create_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{own}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{own}"')
    admin.dispose()
    url = f"{base}/{own}"
    _upgrade(url, tmp_path_factory.mktemp("plans-instance"))
    return url


@pytest.fixture
def database_url(plans_url: str) -> str:
    """PostgreSQL only: plans are PostgreSQL's."""
    _truncate_all(plans_url)
    return plans_url


def captured(db: Any, action: Callable[[], object]) -> list[tuple[str, Any]]:
    seen: list[tuple[str, Any]] = []

    def grab(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            seen.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", grab)
    try:
        action()
    finally:
        event.remove(db.engine, "before_cursor_execute", grab)
    return seen


def plans(db: Any, statements: list[tuple[str, Any]], needle: str) -> Iterator[str]:
    """The plans of the captured statements whose SQL contains `needle`."""
    with db.engine.connect() as conn:
        # Statistics of this test's rows, not of what earlier tests left (emptying by
        # DELETE keeps the old counts until autovacuum comes by): plans then do not depend
        # on which tests ran before.
        conn.exec_driver_sql("ANALYZE")
        conn.exec_driver_sql("SET enable_seqscan = off")
        for statement, parameters in statements:
            if needle in statement:
                rows = conn.exec_driver_sql("EXPLAIN " + statement, parameters).all()
                yield "\n".join(row[0] for row in rows)


def only_plan(db: Any, statements: list[tuple[str, Any]], needle: str) -> str:
    found = list(plans(db, statements, needle))
    assert found, f"no query with {needle!r}"
    return found[0]


@pytest.fixture
def demo(db: Any) -> None:
    from teletherapy.demo.seed import seed_demo

    seed_demo(therapists=6, clients=3, seed=2)


def test_matching_starts_from_the_tag_index_and_reads_stored_openings(db: Any, demo: None) -> None:
    from teletherapy.services.matching.search import find_matches

    payload = {
        "setting": "online",
        "state": "NY",
        "languages": [{"code": "es", "required": True}],
        "fee_band": "b",
    }
    statements = captured(
        db, lambda: find_matches(request_payload=payload, client_id=None, now=utcnow())
    )
    # The therapists in place are counted from the online listings of the state and band
    # (0019_online_listings), one range of its primary key.
    counts = only_plan(db, statements, "GROUP BY")
    assert "pk_online_listings" in counts, counts
    assert "Seq Scan" not in counts
    # Only the shown few are loaded whole, by primary key.
    candidates = only_plan(db, statements, "string_agg")
    assert "pk_therapist_profiles" in candidates
    assert "Seq Scan" not in candidates
    openings = only_plan(db, statements, "FROM therapist_openings")
    # By therapist (the primary key) or, on a table this small, by validity: an index.
    by_index = ("pk_therapist_openings", "ix_therapist_openings_valid_until")
    assert any(name in openings for name in by_index) and "Seq Scan" not in openings


def test_the_online_top_k_sums_wishes_by_tag_key_and_counts_the_week_by_active_sessions(
    db: Any, demo: None
) -> None:
    from teletherapy.services.matching.search import find_matches

    payload = {
        "setting": "online",
        "state": "NY",
        "languages": [{"code": "es", "weight": 2}],
        "concerns": ["anxiety"],
        "fee_band": "a",  # a reduced band: the weekly cap is a hard filter
    }
    statements = captured(
        db, lambda: find_matches(request_payload=payload, client_id=None, now=utcnow())
    )
    # Each week's count reads an index of active sessions only: 0015_matching's (what a
    # large database uses, index-only) or, on these few rows, the no-overlap one.
    active = ("ix_bookings_active_therapist_id_start_at", "no_overlapping_sessions")
    counts = only_plan(db, statements, "GROUP BY")
    assert any(name in counts for name in active), counts  # reduced-fee sessions used
    assert "Seq Scan" not in counts
    top = only_plan(db, statements, "floor(")
    assert "pk_online_listings" in top  # the place and band
    assert "pk_therapist_tags" in top  # the shown rows' tags (wishes: tag_codes on the row)
    assert any(name in top for name in active), top  # sessions booked this week
    assert "Seq Scan" not in top


def test_the_weeks_counts_match_the_partial_index_of_active_sessions(db: Any, demo: None) -> None:
    from teletherapy.services.matching.search import find_matches

    payload = {"setting": "online", "state": "NY", "concerns": ["anxiety"], "fee_band": "a"}
    statements = captured(
        db, lambda: find_matches(request_payload=payload, client_id=None, now=utcnow())
    )
    statement, parameters = next((s, p) for s, p in statements if "floor(" in s)
    with db.engine.connect() as conn:
        # Without the no-overlap constraint's index (rolled back below), the counts must
        # still find an index of active sessions: the query implies 0015's predicate.
        conn.exec_driver_sql("ANALYZE")  # see plans()
        conn.exec_driver_sql("SET enable_seqscan = off")
        conn.exec_driver_sql("ALTER TABLE bookings DROP CONSTRAINT no_overlapping_sessions")
        rows = conn.exec_driver_sql("EXPLAIN " + statement, parameters).all()
        conn.rollback()
    plan = "\n".join(row[0] for row in rows)
    assert "ix_bookings_active_therapist_id_start_at" in plan, plan
    assert "ix_bookings_therapist_id_start_at " not in plan, plan


def test_an_in_person_search_starts_from_the_lat_lon_index(db: Any, plans_url: str) -> None:
    """The in-person statement (kept, its box bound) reads the box from the lat/lon index.

    With the statistics of six demo therapists the planner rightly starts from the five
    fees of the band; 400 therapists across the country make the box the narrow part.
    """
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    from seed_scale import seed

    from teletherapy.services.matching.search import find_matches

    seed(plans_url, 400, 1000)
    payload = {"setting": "in_office", "state": "NY", "zip": "10027", "fee_band": "b"}
    statements = captured(
        db, lambda: find_matches(request_payload=payload, client_id=None, now=utcnow())
    )
    box = only_plan(db, statements, "box_min_lat")
    assert "ix_therapist_profiles_office_lat_lon" in box, box
    assert "Seq Scan" not in box
    # The box's rows are not read again by key, and each one's week is one probe of the
    # active sessions' index (booked and used together: a LATERAL subquery).
    assert "pk_therapist_profiles" not in box, box
    assert box.count("ix_bookings_active_therapist_id_start_at") == 1, box


def test_the_openings_job_finds_due_rows_by_the_valid_until_index(db: Any, demo: None) -> None:
    from teletherapy.services.availability.openings import refresh_due_openings

    statements = captured(db, lambda: refresh_due_openings(now=utcnow() + timedelta(days=2)))
    plan = only_plan(db, statements, "valid_until <=")
    assert "Index" in plan and "therapist_openings" in plan


def test_a_feed_reads_the_persons_sessions_by_index_and_their_kept_texts_by_key(
    db: Any, demo: None
) -> None:
    from sqlalchemy import select

    from teletherapy.models import User
    from teletherapy.services.calendars.feeds import build_feed_for_token, get_or_create_feed

    client_id = db.session.scalar(select(User.id).where(User.email == "client1@demo.test"))
    url = get_or_create_feed(user_id=client_id, now=utcnow()).url
    token = url.rsplit("/", 1)[1].removesuffix(".ics")
    statements = captured(db, lambda: build_feed_for_token(token=token, now=utcnow()))
    build = only_plan(db, statements, "booking_feed_texts")
    assert "ix_bookings_client_id_start_at" in build
    assert "pk_booking_feed_texts" in build
    lookup = only_plan(db, statements, "token_hash")
    assert "Seq Scan" not in lookup


def test_the_dispatcher_claims_due_messages_by_status_and_due_time(db: Any, demo: None) -> None:
    from teletherapy.services.messaging.outbox import claim_due

    statements = captured(
        db, lambda: claim_due(now=utcnow(), limit=100, owner="plan", lease_seconds=60)
    )
    plan = only_plan(db, statements, "outbox_messages")
    assert "ix_outbox_messages_status_due_at" in plan


def test_the_retention_job_reads_only_messages_whose_contents_are_kept(db: Any) -> None:
    """A year of messages whose contents are gone and a few still kept: the job's scan
    reads the partial index of the kept ones, not every old message."""
    from sqlalchemy import insert, text

    from teletherapy.models import OutboxMessage
    from teletherapy.models.outbox import CONTENT_REMOVED
    from teletherapy.services.messaging.outbox import prune_contents

    now = utcnow()
    row = {"kind": "reminder", "channel": "email", "to_address": "a@example.org",
           "subject": "Reminder", "headers": {}, "is_sensitive": False, "attempts": 1,
           "status": "sent"}  # fmt: skip
    gone = [
        {**row, "body_text": CONTENT_REMOVED, "due_at": now - timedelta(days=40 + i % 300),
         "sent_at": now - timedelta(days=40 + i % 300)}
        for i in range(3000)
    ]  # fmt: skip
    kept = [
        {**row, "body_text": "Dear Ana", "due_at": now - timedelta(days=i),
         "sent_at": now - timedelta(days=i)}
        for i in range(20)
    ]  # fmt: skip
    db.session.execute(insert(OutboxMessage), gone + kept)
    db.session.commit()
    with db.engine.connect() as conn:
        conn.execute(text("ANALYZE outbox_messages"))
        conn.commit()
    statements = captured(db, lambda: prune_contents(now=now))
    plan = only_plan(db, statements, "outbox_messages")
    assert "ix_outbox_messages_unpruned_due_at" in plan
