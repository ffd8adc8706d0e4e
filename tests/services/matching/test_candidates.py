"""Candidates' loading: "allow online sessions" is counted beside the in-person search."""

from __future__ import annotations

import dataclasses
import threading
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import event, select

from teletherapy.domain.matching_types import MatchRequest
from teletherapy.gateways.zipcodes import find_zip
from teletherapy.models import TherapistProfile, TherapistTag
from teletherapy.services.matching import online_count, shortlist
from teletherapy.services.matching.fee_bands import list_fee_bands
from teletherapy.services.matching.online_count import online_alternative


def _harlem_request(band: Any) -> MatchRequest:
    harlem = find_zip("10027")
    assert harlem is not None
    return MatchRequest(
        setting="in_office",
        state="NY",
        fee_band=band,
        time_zone="America/New_York",
        zip=harlem.zip,
        location=harlem.point,
    )


def test_allow_online_is_counted_meanwhile_on_a_connection_of_its_own(
    db: Any, now: datetime
) -> None:
    """On PostgreSQL the count runs in another thread (its own pooled connection) while the
    box is read; its answer is what ranking everyone online in the state gives."""
    from teletherapy.demo.seed import seed_demo

    seed_demo(therapists=40, clients=2, seed=4)
    bands = list_fee_bands()
    counted_in: list[int] = []

    def grab(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.startswith("SELECT count(*)"):  # the count (not the rows of the box)
            counted_in.append(threading.get_ident())

    event.listen(db.engine, "before_cursor_execute", grab)
    try:
        for band in bands:
            request = _harlem_request(band)
            relaxation = online_alternative(request, bands, now)
            online = dataclasses.replace(request, setting="online")
            everyone = shortlist.every_row_overview(online, bands, now, 10)
            passing = everyone.considered - sum(everyone.result.removed_by.values())
            assert passing > 1
            found = relaxation(1)
            assert found is not None and found.more == passing - 1
    finally:
        event.remove(db.engine, "before_cursor_execute", grab)
    assert len(counted_in) == len(bands)
    elsewhere = [ident != threading.get_ident() for ident in counted_in]
    assert all(elsewhere) if db.engine.dialect.name == "postgresql" else not any(elsewhere)


def test_the_count_is_kept_for_the_same_question_until_it_is_older_than_its_max_age(
    app: Any, db: Any, now: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The next in-person search of the same state and band (any place) reads the kept
    count; another band counts again; past MATCHING_ONLINE_COUNT_MAX_AGE_SECONDS a change
    is seen; at 0 every search counts."""
    from teletherapy.demo.seed import seed_demo

    seed_demo(therapists=40, clients=2, seed=4)
    bands = list_fee_bands()
    counts: list[str] = []

    def grab(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.startswith("SELECT count(*)"):
            counts.append(statement)

    def more(band: Any) -> int:
        found = online_alternative(_harlem_request(band), bands, now)(0)
        return 0 if found is None else found.more

    clock = [1000.0]
    monkeypatch.setattr(online_count.time, "monotonic", lambda: clock[0])
    event.listen(db.engine, "before_cursor_execute", grab)
    try:
        first = more(bands[1])
        assert first > 1 and len(counts) == 1
        leaving = db.session.scalars(
            select(TherapistProfile)
            .join(TherapistTag, TherapistTag.therapist_id == TherapistProfile.id)
            .where(TherapistTag.kind == "online_state", TherapistTag.code == "NY")
            .where(TherapistProfile.accepting_new_clients.is_(True))
        ).first()
        assert leaving is not None
        leaving.accepting_new_clients = False
        db.session.commit()
        clock[0] += 59
        assert more(bands[1]) == first and len(counts) == 1  # kept: no count ran
        more(bands[0])
        assert len(counts) == 2  # another band is another question
        clock[0] += 2
        assert more(bands[1]) == first - 1 and len(counts) == 3  # older than a minute
        app.config["MATCHING_ONLINE_COUNT_MAX_AGE_SECONDS"] = 0
        app.extensions.pop("matching_online_counts")
        more(bands[1])
        more(bands[1])
        assert len(counts) == 5
    finally:
        event.remove(db.engine, "before_cursor_execute", grab)
