"""The online first pass (counts in SQL, a bounded top-k) gives what ranking everyone does.

The reference is the in-person path, which loads every therapist in place as a row and
lets `domain.matching.rank` filter, count and order them all: for random online
requests over the demo therapists, both must agree on who is shown (in order, with their
scores), `removed_by`, the relaxations and the number considered. MARGIN 0 and small
limits make the tie-breaking second query run too.
"""

from __future__ import annotations

import dataclasses
import random
from datetime import datetime
from typing import Any

import pytest

from teletherapy.domain.matching_types import LanguageWish, MatchRequest, Preference
from teletherapy.services.matching import shortlist
from teletherapy.services.matching.fee_bands import list_fee_bands
from tests.services.matching.random_requests import CONCERNS, CULTURES, MODALITIES, random_wishes

LANGUAGES = ("es", "en", "zh", "vi", "ar", "fr")
STATES = ("NY", "CA", "TX", "FL", "NJ")


@pytest.fixture
def demo(db: Any, now: datetime) -> None:
    from teletherapy.demo.seed import seed_demo

    seed_demo(therapists=80, clients=3, seed=5)


def _request(rng: random.Random, band: Any) -> MatchRequest:
    return MatchRequest(
        setting="online",
        state=rng.choice(STATES),
        fee_band=band,
        time_zone="America/New_York",
        **random_wishes(rng, LANGUAGES),
    )


@pytest.mark.parametrize("margin", [0, shortlist.MARGIN])
def test_online_first_pass_agrees_with_ranking_every_therapist(
    demo: None, now: datetime, margin: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shortlist, "MARGIN", margin)
    bands = list_fee_bands()
    rng = random.Random(margin)
    for _ in range(40):
        request = _request(rng, rng.choice(bands))
        window = request.limit + 5
        fast = shortlist.online_overview(request, bands, now, window)
        full = shortlist.in_person_overview(request, bands, now, window)
        described = dataclasses.asdict(request)
        assert fast.considered == full.considered, described
        assert dict(fast.result.removed_by) == dict(full.result.removed_by), described
        assert fast.result.relaxations == full.result.relaxations, described
        assert [(m.candidate.id, m.score) for m in fast.result.matches] == [
            (m.candidate.id, m.score) for m in full.result.matches
        ], described


def test_counts_name_each_filter_when_every_therapist_fails_one(demo: None, now: datetime) -> None:
    bands = list_fee_bands()
    reduced = next(b for b in bands if b.is_reduced)
    request = MatchRequest(
        setting="online",
        state="NY",
        fee_band=reduced,
        time_zone="America/New_York",
        languages=(LanguageWish("zh", True), LanguageWish("es", True)),
        age_group="children",
    )
    fast = shortlist.online_overview(request, bands, now, 10)
    full = shortlist.in_person_overview(request, bands, now, 10)
    assert fast.result.removed_by == full.result.removed_by
    assert fast.result.removed_by.get("language_required", 0) > 0
    assert fast.result.relaxations == full.result.relaxations
    assert [m.candidate.id for m in fast.result.matches] == [
        m.candidate.id for m in full.result.matches
    ]


def test_the_online_first_pass_reads_the_therapists_in_place_in_one_statement(
    db: Any, demo: None, now: datetime
) -> None:
    """The counts and the best rows come from one scan of the state (a CTE), not two."""
    from sqlalchemy import event

    bands = list_fee_bands()
    request = MatchRequest(
        setting="online",
        state="NY",
        fee_band=bands[-1],
        time_zone="America/New_York",
        languages=(LanguageWish("es", True),),
        concerns=("anxiety",),
    )
    sent: list[str] = []

    def grab(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        sent.append(statement)

    event.listen(db.engine, "before_cursor_execute", grab)
    try:
        fast = shortlist.online_overview(request, bands, now, 10)
    finally:
        event.remove(db.engine, "before_cursor_execute", grab)
    assert fast.result.matches and fast.considered > len(fast.result.matches)
    assert len([s for s in sent if "therapist_profiles" in s]) == 1


def test_an_in_person_first_pass_reads_the_box_in_one_statement(
    db: Any, demo: None, now: datetime
) -> None:
    """Those the tag filters rule out come in the same rows (no second query of the box),
    and the domain still names what removed them."""
    from sqlalchemy import event

    from teletherapy.gateways.zipcodes import find_zip

    bands = list_fee_bands()
    harlem = find_zip("10027")
    assert harlem is not None
    request = MatchRequest(
        setting="in_office",
        state="NY",
        fee_band=bands[-1],
        time_zone="America/New_York",
        zip=harlem.zip,
        location=harlem.point,
        max_distance_km=80,
        languages=(LanguageWish("zh", True),),
    )
    sent: list[str] = []

    def grab(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        sent.append(statement)

    event.listen(db.engine, "before_cursor_execute", grab)
    try:
        full = shortlist.in_person_overview(request, bands, now, 10)
    finally:
        event.remove(db.engine, "before_cursor_execute", grab)
    assert len([s for s in sent if "therapist_profiles" in s]) == 1
    assert full.result.removed_by.get("language_required", 0) > 0


def _sibling(request: MatchRequest, rng: random.Random, bands: list[Any]) -> MatchRequest:
    """A request of the same statement shape with other values: other state, band (as
    reduced or not), codes (a bijection of each vocabulary, "group" kept), nonzero
    weights, gender code, age group and limit."""

    def mapping(codes: tuple[str, ...]) -> dict[str, str]:
        shuffled = list(codes)
        rng.shuffle(shuffled)
        return dict(zip(codes, shuffled, strict=True))

    languages = mapping(LANGUAGES)
    modalities = mapping(tuple(m for m in MODALITIES if m != "group")) | {"group": "group"}
    concerns, cultures = mapping(CONCERNS), mapping(CULTURES)

    def weight(w: int) -> int:
        return w % 3 + 1 if w else 0

    same_kind = [b for b in bands if b.is_reduced == request.fee_band.is_reduced]
    return dataclasses.replace(
        request,
        state=rng.choice([s for s in STATES if s != request.state]),
        fee_band=rng.choice(same_kind),
        languages=tuple(
            LanguageWish(languages[w.code], w.required, weight(w.weight)) for w in request.languages
        ),
        modalities=tuple(modalities[m] for m in request.modalities),
        concerns=tuple(concerns[c] for c in request.concerns),
        cultural_backgrounds=tuple(
            Preference(cultures[p.code], weight(p.weight)) for p in request.cultural_backgrounds
        ),
        gender=Preference(
            "man" if request.gender.code == "woman" else "woman", request.gender.weight
        )
        if request.gender is not None
        else None,
        faith_integrated=weight(request.faith_integrated),
        lgbtq_affirming=weight(request.lgbtq_affirming),
        age_group=rng.choice(("adults", "children", "adolescents")) if request.age_group else None,
        limit=rng.choice((1, 3, 20)),
    )


def test_a_kept_statement_answers_each_request_of_its_shape_with_its_own_values(
    demo: None, now: datetime
) -> None:
    """The online statement is built once per shape and kept: a request of a shape already
    built (other state, band, codes, weights, limit) reuses it with its own bound values
    and still gets what ranking every therapist gives."""
    from teletherapy.domain.matching import wish_total
    from teletherapy.services.matching import online_statement

    bands = list_fee_bands()
    rng = random.Random(14)
    for _ in range(25):
        first = _request(rng, rng.choice(bands))
        second = _sibling(first, rng, bands)
        shape = online_statement.online_shape(first, bands, now, wish_total(first), 10)[0]
        assert online_statement.online_shape(second, bands, now, wish_total(second), 10)[0] == shape
        online_statement.online_statement.cache_clear()
        for request in (first, second):
            window = request.limit + 5
            fast = shortlist.online_overview(request, bands, now, window)
            full = shortlist.in_person_overview(request, bands, now, window)
            described = dataclasses.asdict(request)
            assert fast.considered == full.considered, described
            assert dict(fast.result.removed_by) == dict(full.result.removed_by), described
            assert fast.result.relaxations == full.result.relaxations, described
            assert [(m.candidate.id, m.score) for m in fast.result.matches] == [
                (m.candidate.id, m.score) for m in full.result.matches
            ], described
        assert online_statement.online_statement.cache_info().misses == 1
