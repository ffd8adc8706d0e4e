"""benchmarks/seed_scale.py: the bulk seed keeps the invariants and stores the app's openings."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import _truncate_all

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from seed_scale import check_openings, seed


def _scalar(url: str, sql: str) -> Any:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql)).scalar()
    finally:
        engine.dispose()


def test_the_scale_seed_keeps_the_invariants_and_stores_the_apps_openings(
    postgres_url: str,
) -> None:
    _truncate_all(postgres_url)
    indexes = _scalar(postgres_url, "SELECT count(*) FROM pg_indexes WHERE schemaname = 'public'")
    result = seed(postgres_url, 120, 1500)
    assert result["therapists"] == 120 and result["sessions"] == 1500
    assert _scalar(postgres_url, "SELECT count(*) FROM bookings") == 1500
    # No two sessions of a therapist overlap, whatever their status; nor a client's.
    for who in ("therapist_id", "client_id"):
        overlapping = _scalar(
            postgres_url,
            f"SELECT count(*) FROM bookings a JOIN bookings b ON a.{who} = b.{who}"
            " AND a.id < b.id AND a.blocked_start_at < b.blocked_end_at"
            " AND b.blocked_start_at < a.blocked_end_at",
        )
        assert overlapping == 0, who
    # Every therapist is matchable and bookable: profile data, settings, hours, prices.
    for table in (
        "availability_settings",
        "therapist_payment_settings",
        "therapist_openings",
    ):
        assert _scalar(postgres_url, f"SELECT count(*) FROM {table}") == 120, table
    for table in ("availability_rules", "therapist_tags", "therapist_fees"):
        missing = _scalar(
            postgres_url,
            "SELECT count(*) FROM therapist_profiles p WHERE NOT EXISTS"
            f" (SELECT 1 FROM {table} x WHERE x.therapist_id = p.id)",
        )
        assert missing == 0, table
    assert _scalar(postgres_url, "SELECT count(*) FROM bookings WHERE status = 'confirmed'") > 0
    assert _scalar(postgres_url, "SELECT count(*) FROM bookings WHERE status = 'completed'") > 0
    # Indexes and constraints dropped for the load are back.
    after = _scalar(postgres_url, "SELECT count(*) FROM pg_indexes WHERE schemaname = 'public'")
    assert after == indexes
    assert (
        _scalar(
            postgres_url,
            "SELECT count(*) FROM pg_constraint WHERE conname IN"
            " ('no_overlapping_sessions', 'fk_bookings_client_id_users',"
            " 'fk_therapist_tags_therapist_id_therapist_profiles')",
        )
        == 3
    )
    # The online listings (written once after the load, their triggers off during it) are
    # what the triggers would have written, and the triggers are on again.
    listed = (
        "SELECT count(*) FROM therapist_profiles p"
        " JOIN therapist_tags t ON t.therapist_id = p.id AND t.kind = 'online_state'"
        " JOIN therapist_fees f ON f.therapist_id = p.id"
        " WHERE p.verified_at IS NOT NULL AND p.accepting_new_clients"
    )
    assert _scalar(postgres_url, listed) > 100
    assert _scalar(postgres_url, "SELECT count(*) FROM online_listings") == _scalar(
        postgres_url, listed
    )
    disabled = (
        "SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'online_listings%' AND tgenabled = 'D'"
    )
    assert _scalar(postgres_url, disabled) == 0
    # The stored next openings are what the app computes from the loaded rows.
    first = result["first_therapist_id"]
    assert check_openings(postgres_url, list(range(first, first + 120))) == []
    with pytest.raises(RuntimeError):
        seed(postgres_url, 5, 10)
    _truncate_all(postgres_url)
