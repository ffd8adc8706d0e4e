"""The in-person statement (built once per shape, lighter rows beyond the distance) gives
what ranking every therapist in place as a whole row gives (`every_row_overview`)."""

from __future__ import annotations

import dataclasses
import random
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select

from teletherapy.domain.matching import hard_filter
from teletherapy.domain.matching_types import LanguageWish, MatchRequest
from teletherapy.gateways.zipcodes import find_zip
from teletherapy.models import TherapistProfile
from teletherapy.services.matching import in_person_statement, shortlist
from teletherapy.services.matching.fee_bands import list_fee_bands
from tests.services.matching.random_requests import random_wishes

LANGUAGES = ("es", "en", "zh", "ru", "ar", "fr")


@pytest.fixture
def places(db: Any, now: datetime) -> list[tuple[str, str]]:
    """(state, ZIP) of the demo therapists' offices and home bases."""
    from teletherapy.demo.seed import seed_demo

    seed_demo(therapists=80, clients=3, seed=7)
    P = TherapistProfile
    found = db.session.execute(select(P.license_state, P.office_zip, P.home_zip)).all()
    zips = {(state, z) for state, *codes in found for z in codes if z and state}
    return sorted(zips)


def _request(rng: random.Random, band: Any, places: list[tuple[str, str]]) -> MatchRequest:
    state, zip_code = rng.choice(places)
    if rng.random() < 0.3:  # a client in another state than the therapist nearby
        state = rng.choice(("NY", "NJ", "CA", "TX"))
    found = find_zip(zip_code)
    assert found is not None
    return MatchRequest(
        setting=rng.choice(("in_office", "in_office", "home")),
        state=state,
        fee_band=band,
        time_zone="America/New_York",
        zip=found.zip,
        location=found.point,
        max_distance_km=rng.choice((0.5, 2.0, 5.0, 10.0, 25.0, 40.0, 80.0)),
        **random_wishes(rng, LANGUAGES),
    )


def test_the_in_person_statement_agrees_with_ranking_every_row(
    places: list[tuple[str, str]], now: datetime
) -> None:
    bands = list_fee_bands()
    rng = random.Random(18)
    seen_shown = beyond = 0
    for _ in range(60):
        request = _request(rng, rng.choice(bands), places)
        window = request.limit + 5
        fast = shortlist.in_person_overview(request, bands, now, window)
        full = shortlist.every_row_overview(request, bands, now, window)
        described = dataclasses.asdict(request)
        assert fast.considered == full.considered, described
        assert dict(fast.result.removed_by) == dict(full.result.removed_by), described
        assert fast.result.relaxations == full.result.relaxations, described
        assert [(m.candidate.id, m.score, m.reasons) for m in fast.result.matches] == [
            (m.candidate.id, m.score, m.reasons) for m in full.result.matches
        ], described
        # What search.py reads of the rows for "allow online sessions": the candidates
        # that pass every filter (those beyond an office's distance are only counted).
        assert fast.online_here == full.online_here, described
        judged = {c.id: hard_filter(c, request) for c in full.candidates}
        assert {c.id: hard_filter(c, request) for c in fast.candidates}.items() <= judged.items()
        passing = {i for i, failed in judged.items() if failed is None}
        assert passing <= {c.id for c in fast.candidates}, described
        if request.setting == "home":
            assert len(fast.candidates) == len(full.candidates), described
        beyond += len(full.candidates) - len(fast.candidates)
        seen_shown += bool(fast.result.matches)
    assert seen_shown >= 20  # the requests found therapists, not only empty boxes
    assert beyond >= 20  # offices beyond the distance were grouped, not built one by one


def test_a_kept_in_person_statement_is_reused_with_other_values(
    places: list[tuple[str, str]], now: datetime
) -> None:
    bands = list_fee_bands()
    reduced = next(b for b in bands if b.is_reduced)
    other = next(b for b in bands if b.is_reduced and b != reduced)
    first = dataclasses.replace(
        _request(random.Random(3), reduced, places),
        setting="in_office",
        languages=(LanguageWish("es", True),),
        age_group="adults",
        modalities=("cbt",),
    )
    second = dataclasses.replace(
        first,
        fee_band=other,
        languages=(LanguageWish("zh", True),),
        age_group="children",
        modalities=("dbt",),
        max_distance_km=first.max_distance_km * 2,
    )
    in_person_statement.in_person_statement.cache_clear()
    for request in (first, second):
        fast = shortlist.in_person_overview(request, bands, now, 10)
        full = shortlist.every_row_overview(request, bands, now, 10)
        assert fast.result == full.result
    assert in_person_statement.in_person_statement.cache_info().misses == 1


def test_offices_beyond_the_distance_count_as_ranking_each_of_them_does(
    db: Any, places: list[tuple[str, str]], now: datetime
) -> None:
    """Those beyond an office request's distance are counted by groups: with a required
    language and an age group the "travel up to" relaxation must still count only those
    who speak it and see that age, as ranking every row whole does. Each request's
    distance puts some office between it and twice it."""
    from teletherapy.domain.geo import distance_km
    from teletherapy.models import TherapistTag

    P = TherapistProfile
    offices = db.session.execute(
        select(P.id, P.office_lat, P.office_lon).where(P.office_lat.is_not(None))
    ).all()
    spoken = db.session.execute(
        select(TherapistTag.therapist_id, TherapistTag.code).where(TherapistTag.kind == "language")
    ).all()
    bands = list_fee_bands()
    rng = random.Random(31)
    travelled = 0
    for _ in range(50):
        state, zip_code = rng.choice(places)
        found = find_zip(zip_code)
        assert found is not None
        distances = [(distance_km(found.point, (o.office_lat, o.office_lon)), o) for o in offices]
        around = [(away, office) for away, office in distances if 1.0 < away < 400]
        if not around:
            continue
        away, target = rng.choice(around)
        theirs = [code for tid, code in spoken if tid == target.id] or ["en"]
        request = MatchRequest(
            setting="in_office",
            state=state,
            fee_band=rng.choice(bands),
            time_zone="America/New_York",
            zip=found.zip,
            location=found.point,
            max_distance_km=max(0.5, away / rng.uniform(1.05, 1.9)),
            languages=(LanguageWish(rng.choice([*theirs, *LANGUAGES[:2]]), True),),
            age_group=rng.choice((None, "adults", "children")),
        )
        fast = shortlist.in_person_overview(request, bands, now, 10)
        full = shortlist.every_row_overview(request, bands, now, 10)
        assert fast.result == full.result, dataclasses.asdict(request)
        assert fast.considered == full.considered
        travelled += any(r.change.startswith("travel") for r in fast.result.relaxations)
    assert travelled >= 10, travelled
