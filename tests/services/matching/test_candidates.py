"""Candidates' loading: "allow online sessions" is counted beside the in-person search."""

from __future__ import annotations

import dataclasses
import threading
from datetime import datetime
from typing import Any

from sqlalchemy import event

from teletherapy.domain.matching_types import MatchRequest
from teletherapy.gateways.zipcodes import find_zip
from teletherapy.services.matching import shortlist
from teletherapy.services.matching.fee_bands import list_fee_bands
from teletherapy.services.matching.online_count import online_alternative


def test_allow_online_is_counted_meanwhile_on_a_connection_of_its_own(
    db: Any, now: datetime
) -> None:
    """On PostgreSQL the count runs in another thread (its own pooled connection) while the
    box is read; its answer is what ranking everyone online in the state gives."""
    from teletherapy.demo.seed import seed_demo

    seed_demo(therapists=40, clients=2, seed=4)
    harlem = find_zip("10027")
    assert harlem is not None
    bands = list_fee_bands()
    counted_in: list[int] = []

    def grab(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.startswith("SELECT count(*)"):  # the count (not the rows of the box)
            counted_in.append(threading.get_ident())

    event.listen(db.engine, "before_cursor_execute", grab)
    try:
        for band in bands:
            request = MatchRequest(
                setting="in_office",
                state="NY",
                fee_band=band,
                time_zone="America/New_York",
                zip=harlem.zip,
                location=harlem.point,
            )
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
