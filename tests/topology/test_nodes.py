"""Two real gunicorn nodes on one primary and its streaming replica."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
from flask import Flask

from tests.topology.conftest import (
    MATCH_REQUEST,
    MAX_LAG_SECONDS,
    opening_of,
    replica_sql,
    token,
    wait_for_replay,
)


def _slots(base: str, therapist_id: int) -> list[str]:
    start = datetime.now(UTC).date()
    answer = requests.get(
        f"{base}/api/v1/therapists/{therapist_id}/slots",
        params={"from": start.isoformat(), "to": (start + timedelta(days=14)).isoformat()},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    return [s["start"] for s in answer.json()["slots"]]


def test_a_booking_made_through_node_a_is_seen_by_node_b(
    topology: dict[str, Any], people: dict[str, Any]
) -> None:
    node_a, node_b = topology["web"]
    headers = token(node_a, people["client_email"])
    start = _slots(node_a, people["therapist_id"])[0]

    made = requests.post(
        f"{node_a}/api/v1/bookings",
        json={"therapist_id": people["therapist_id"], "start": start, "setting": "online"},
        headers=headers,
        timeout=30,
    )

    assert made.status_code == 201, made.text
    booking = made.json()
    seen = requests.get(f"{node_b}/api/v1/bookings/{booking['id']}", headers=headers, timeout=30)
    assert seen.status_code == 200, seen.text
    assert seen.json()["start"] == start and seen.json()["status"] == booking["status"]
    listed = requests.get(f"{node_b}/api/v1/bookings", headers=headers, timeout=30).json()
    assert booking["id"] in [b["id"] for b in listed["bookings"]]
    # The booking flow reads the primary: node B no longer offers the slot, at once.
    assert start not in _slots(node_b, people["therapist_id"])
    again = requests.post(
        f"{node_b}/api/v1/bookings",
        json={"therapist_id": people["therapist_id"], "start": start, "setting": "online"},
        headers=headers,
        timeout=30,
    )
    assert again.status_code == 409


def test_matching_never_offers_a_slot_booked_longer_ago_than_the_staleness_bound(
    topology: dict[str, Any], people: dict[str, Any], topology_app: Callable[..., Flask]
) -> None:
    node_a, node_b = topology["web"]
    headers = token(node_a, people["client_email"])
    wait_for_replay(topology)
    first = requests.post(f"{node_b}/api/v1/matches", json=MATCH_REQUEST, timeout=30)
    opening = opening_of(first.json(), people["therapist_id"])
    assert opening is not None
    # The control: a reader that trusts the replica for an hour (it checked before the pause).
    trusting = topology_app(DATABASE_REPLICA_MAX_LAG_SECONDS=3600).test_client()
    assert (
        opening_of(
            trusting.post("/api/v1/matches", json=MATCH_REQUEST).get_json(), people["therapist_id"]
        )
        == opening
    )
    replica_sql(topology, "SELECT pg_wal_replay_pause()")
    try:
        made = requests.post(
            f"{node_a}/api/v1/bookings",
            json={"therapist_id": people["therapist_id"], "start": opening, "setting": "online"},
            headers=headers,
            timeout=30,
        )
        assert made.status_code == 201, made.text
        booked_at = time.monotonic()
        # It still sees the old opening on the paused replica: what follows is the
        # staleness check's doing.
        stale = trusting.post("/api/v1/matches", json=MATCH_REQUEST).get_json()
        assert opening_of(stale, people["therapist_id"]) == opening

        time.sleep(max(0.0, booked_at + MAX_LAG_SECONDS + 0.6 - time.monotonic()))
        for node in (node_a, node_b):
            answer = requests.post(f"{node}/api/v1/matches", json=MATCH_REQUEST, timeout=30)
            assert answer.status_code == 200, answer.text
            assert opening_of(answer.json(), people["therapist_id"]) != opening
    finally:
        replica_sql(topology, "SELECT pg_wal_replay_resume()")
    wait_for_replay(topology)
