"""The booking's check reads one therapist's candidate row from a kept statement."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import event, select

from teletherapy.domain.matching_types import LanguageWish, MatchRequest
from teletherapy.gateways.zipcodes import find_zip
from teletherapy.models import TherapistProfile
from teletherapy.services.matching.candidates import candidate_query, read_rows
from teletherapy.services.matching.fee_bands import list_fee_bands
from teletherapy.services.matching.one_candidate import _statement, read_candidate


def test_the_kept_statement_gives_each_therapist_the_row_candidate_query_gives(
    db: Any, now: datetime
) -> None:
    from teletherapy.demo.seed import seed_demo

    seed_demo(therapists=12, clients=2, seed=5)
    harlem = find_zip("10027")
    assert harlem is not None
    bands = list_fee_bands()
    ids = list(db.session.scalars(select(TherapistProfile.id).order_by(TherapistProfile.id)))
    _statement.cache_clear()
    checked = 0
    for band in bands:
        for setting, state in [("online", "NY"), ("online", "CA"), ("in_office", "NY")]:
            request = MatchRequest(
                setting=setting,
                state=state,
                fee_band=band,
                time_zone="America/New_York",
                zip=harlem.zip,
                location=harlem.point,
                languages=(LanguageWish("es", required=True),),
                modalities=("cbt",),
            )
            for therapist_id in [*ids, max(ids) + 1]:
                kept = read_candidate(request, bands, now, therapist_id)
                built = read_rows(
                    candidate_query(request, bands, now, band_required=False).where(
                        TherapistProfile.id == therapist_id
                    )
                )
                assert [tuple(r) for r in kept] == [tuple(r) for r in built]
                checked += len(kept)
    assert checked == len(ids) * len(bands) * 3
    # One statement per shape, reused with every other value.
    assert _statement.cache_info().currsize == 2


def test_the_shapes_of_the_shown_are_read_in_one_query_and_say_what_three_did(
    db: Any, now: datetime
) -> None:
    """On PostgreSQL the public shapes come from one query (the row's tag_codes and its
    bands beside it); they equal the shapes built from the three separate reads."""
    from teletherapy.demo.seed import seed_demo
    from teletherapy.services.matching import profiles, shapes

    seed_demo(therapists=12, clients=2, seed=6)
    ids = list(db.session.scalars(select(TherapistProfile.id).order_by(TherapistProfile.id)))
    # A therapist whose tags and prices were all removed (a full replacement).
    profiles.update_therapist_profile(
        therapist_id=ids[0], changes=profiles.ProfileChanges(display_name="Bare Profile")
    )
    statements: list[str] = []

    def grab(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", grab)
    try:
        answered = shapes.therapist_shapes(ids)
    finally:
        event.remove(db.engine, "before_cursor_execute", grab)
    table = TherapistProfile.__table__
    rows = db.session.connection().execute(select(table).where(table.c.id.in_(ids)))
    tags, fees = shapes.load_tags(ids), shapes.load_fees(ids)
    separate = {p.id: shapes.public_shape(p, tags.get(p.id, {}), fees.get(p.id, {})) for p in rows}
    assert answered == separate
    assert len(answered) == len(ids)
    if db.engine.dialect.name == "postgresql":
        assert len(statements) == 1
