"""The first pass of a search: the hard filters' counts, the relaxations and the best few.

Online (the large case: every therapist online in the client's state), all in SQL:

* the therapists in place are read once (a CTE, `_scan_and_top`) for both of these:
* a GROUP BY counts the therapists in place (verified, accepting, online in the state,
  in the band) by the traits the hard filters read (each required language, the age
  group, reduced-fee capacity); `domain.matching.count_filters` turns those groups into
  `removed_by` and the relaxations, exactly as `rank` would over every therapist;
* an ordered LIMIT takes those who pass every filter by the score's numerator (the wishes
  met, weighted as `domain.matching` weighs them) in thousandths of the score, rounded
  up (never below the domain's rounded score, at most one above it), then sessions
  booked this week, then id, and returns the window plus MARGIN whole rows; the domain
  ranks those exactly. Only when the last shown sits next to a half of a thousandth
  (so someone beyond the rows could tie it and come first on sessions booked or id) is
  the query run again with a larger limit, so the result is always the one ranking
  every therapist would give (tests/services/matching/test_shortlist.py).

In person, the place is a bounding box, and distances decide the filters and the score:
the therapists in the box come back as rows of one query and the domain ranks them all
(see search.py).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import and_, func, literal, select

from teletherapy.domain.fees import FeeBand
from teletherapy.domain.geo import distance_km
from teletherapy.domain.matching import count_filters, rank, wish_total
from teletherapy.domain.matching_types import (
    MAX_DISTANCE_KM,
    MatchRequest,
    MatchResult,
    TherapistCandidate,
)
from teletherapy.extensions import db
from teletherapy.models import TherapistFee, TherapistProfile
from teletherapy.services.matching.candidates import (
    candidate_query,
    place_filter,
    read_rows,
    to_candidates,
)
from teletherapy.services.matching.in_person_statement import (
    in_person_shape,
    in_person_statement,
)
from teletherapy.services.matching.online_statement import (
    filter_flags,
    flag_names,
    online_shape,
    online_statement,
)

# Rows beyond the window that the SQL order brings back, so that float sums in a
# different order never decide who is shown (the domain re-ranks them exactly).
MARGIN = 20


@dataclass(frozen=True)
class Overview:
    """The first pass: counts, relaxations and the best `window`, without openings or reasons."""

    result: MatchResult
    considered: int  # therapists in place (verified, accepting, in the band)
    candidates: list[TherapistCandidate]  # in person: every candidate row that was loaded
    # In person: the ids of those rows online in the client's state (see online_alternative).
    online_here: frozenset[int] = frozenset()


def in_place(request: MatchRequest) -> tuple[Any, ...]:
    P = TherapistProfile
    return (
        P.verified_at.is_not(None),
        P.accepting_new_clients.is_(True),
        place_filter(request),
    )


def _band_join(request: MatchRequest) -> Any:
    return and_(
        TherapistFee.therapist_id == TherapistProfile.id,
        TherapistFee.band_code == request.fee_band.code,
    )


def _group_candidate(request: MatchRequest, traits: dict[str, bool]) -> TherapistCandidate:
    """A stand-in for every therapist in place with these traits (what the filters read)."""
    languages = tuple(
        wish.code
        for i, wish in enumerate(request.languages)
        if not wish.required or traits[f"language_{i}"]
    )
    full = not traits.get("capacity", True)
    return TherapistCandidate(
        id=0,
        display_name="",
        is_verified=True,
        accepting_new_clients=True,
        languages=languages,
        age_groups=(request.age_group,)
        if request.age_group and traits.get("age_group", True)
        else (),
        online_states=(request.state,),
        fees_by_band={request.fee_band.code: 0},
        reduced_fee_weekly_cap=0 if full else None,
    )


def count_in_place(
    request: MatchRequest, bands: Sequence[FeeBand], now: datetime
) -> tuple[int, dict[str, int], MatchResult]:
    """Therapists in place, `removed_by` and the relaxations, from one GROUP BY."""
    flags = filter_flags(request, bands, now)
    columns = [(condition).label(name) for name, condition in flags] or [literal(1).label("one")]
    inner = (
        select(*columns)
        .select_from(TherapistProfile)
        .join(TherapistFee, _band_join(request))
        .where(*in_place(request))
        .subquery()
    )
    keys = [inner.c[name] for name, _ in flags]
    rows = read_rows(select(*keys, func.count()).select_from(inner).group_by(*keys))
    weighted = []
    for row in rows:
        *values, n = row
        traits = {name: bool(value) for (name, _), value in zip(flags, values, strict=True)}
        weighted.append((_group_candidate(request, traits), int(n)))
    considered = sum(n for _, n in weighted)
    removed_by, relaxations = count_filters(weighted, request)
    return considered, removed_by, MatchResult((), removed_by, relaxations)


def _python_bucket(earned: float, total: float) -> int:
    return 0 if total <= 0 else math.floor(earned * 1000.0 / total + (0.5 + 1e-7))


def _settled(result: MatchResult, top: list[Any], total: float, window: int) -> bool:
    """True when no therapist past the fetched rows can enter the shown window.

    The rows come in SQL order: bucket (high first), sessions booked, id. Anyone not
    fetched has a bucket at most the last row's (B), so a score at most B thousandths.
    If the last shown scores above B, nobody beyond can reach it; if exactly B and its
    own bucket is B, anyone beyond with that score comes after it on booked and id too.
    """
    if len(result.matches) < window:
        return True  # fewer pass than the window: everyone who passes was fetched
    last = result.matches[-1]
    shown = round(last.score * 1000)
    floor_b = _python_bucket(float(top[-1].earned), total)
    if shown > floor_b:
        return True
    own = next(r for r in top if r.id == last.candidate.id)
    return shown == floor_b and _python_bucket(float(own.earned), total) == floor_b


def _scan_and_top(
    request: MatchRequest, bands: Sequence[FeeBand], now: datetime, total: float, fetch: int
) -> tuple[Any, dict[str, Any]]:
    """The online statement for this request's shape (built once) and its values."""
    shape, values = online_shape(request, bands, now, total, fetch)
    return online_statement(shape), values


def _read_groups(
    request: MatchRequest, flags: list[str], encoded: str
) -> tuple[int, dict[str, int], MatchResult]:
    """count_in_place's answer from the groups the one-statement search returns."""
    weighted = []
    for item in encoded.split(";"):
        mask, _, n = item.partition(":")
        traits = {name: bool(int(mask) >> i & 1) for i, name in enumerate(flags)}
        weighted.append((_group_candidate(request, traits), int(n)))
    considered = sum(n for _, n in weighted)
    removed_by, relaxations = count_filters(weighted, request)
    return considered, removed_by, MatchResult((), removed_by, relaxations)


def online_overview(
    request: MatchRequest, bands: Sequence[FeeBand], now: datetime, window: int
) -> Overview:
    """The first pass of an online search without loading every therapist in the state."""
    total = wish_total(request)
    windowed = dataclasses.replace(request, limit=window)
    fetch = window + MARGIN
    while True:
        statement, values = _scan_and_top(request, bands, now, total, fetch)
        top = list(db.session.connection().execute(statement, values))
        result = rank(to_candidates(top, request), windowed, now, explain=False)
        if len(top) < fetch or _settled(result, top, total, window):
            break
        fetch *= 4  # rounding put the last shown next to a half: look further
    if top:
        considered, removed_by, counted = _read_groups(request, flag_names(request), top[0].groups)
    else:  # nobody passes: the groups come apart (the statement returned no row)
        considered, removed_by, counted = count_in_place(request, bands, now)
    return Overview(
        result=MatchResult(result.matches, removed_by, counted.relaxations),
        considered=considered,
        candidates=[],
    )


def in_person_overview(
    request: MatchRequest, bands: Sequence[FeeBand], now: datetime, window: int
) -> Overview:
    """The first pass of an in-person search: every therapist in the box as a row, from
    one statement built once per shape (in_person_statement.py); the domain names the
    filter that removes each of the others and counts what each relaxation would add.
    Without a location (or for an online request: the reference the tests rank every
    therapist with) the rows come from `every_row_overview`."""
    if request.location is None or request.setting not in ("in_office", "home"):
        return every_row_overview(request, bands, now, window)
    shape, values = in_person_shape(request, bands, now)
    rows = list(db.session.connection().execute(in_person_statement(shape), values))
    return _ranked(rows, request, now, window)


def every_row_overview(
    request: MatchRequest, bands: Sequence[FeeBand], now: datetime, window: int
) -> Overview:
    """Every therapist in place as a whole row (the week's sessions counted only for those
    the tag filters let through), each a whole candidate ranked by the domain."""
    tag_flags = [c for name, c in filter_flags(request, bands, now) if name != "capacity"]
    rows = read_rows(
        candidate_query(
            request,
            bands,
            now,
            band_required=True,
            booked_when=and_(*tag_flags) if tag_flags else None,
        ).where(*in_place(request))
    )
    return _ranked(rows, request, now, window, group=False)


def _ranked(
    rows: list[Any], request: MatchRequest, now: datetime, window: int, *, group: bool = True
) -> Overview:
    """`group`: those beyond an office's distance counted by groups (False: every row a
    whole candidate, the tests' reference)."""
    within, beyond = _beyond_reach(rows, request) if group else (rows, [])
    candidates = to_candidates(within, request)
    result = rank(
        candidates, dataclasses.replace(request, limit=window), now, explain=False, also=beyond
    )
    return Overview(
        result=result,
        considered=len(candidates) + sum(n for _, n in beyond),
        candidates=candidates,
        online_here=frozenset(row.id for row in rows if row.online_here),
    )


# What `hard_filter` reads of an in-office row beyond the request's distance, its place
# aside (whether it lies within the "travel further" distance is added to the key).
_BEYOND_KEY = (
    "is_verified",
    "accepting_new_clients",
    "reduced_fee_weekly_cap",
    "licensed_here",
    "tags",
    "used",
)


def _beyond_reach(
    rows: list[Any], request: MatchRequest
) -> tuple[list[Any], list[tuple[TherapistCandidate, int]]]:
    """In office: the rows within the request's distance, and those beyond it grouped by
    what the hard filters read of them, one candidate standing for each group.

    Beyond the distance a therapist is never shown ("too_far", or "setting_not_offered"
    without an office), and only counts: in `removed_by` and, within twice the distance,
    towards "travel up to ..." when the other filters pass. Harlem at 100,000 therapists
    reads 1,322 rows in its box, most beyond the 25 km asked for; each was a whole
    candidate built (~15 us) and ranked (~10 us). Distances are the domain's own.
    """
    if request.setting != "in_office" or request.location is None or not rows:
        return rows, []
    fields = rows[0]._fields
    place = itemgetter(*(fields.index(name) for name in ("office_lat", "office_lon", "office_zip")))
    key_of = itemgetter(*(fields.index(name) for name in _BEYOND_KEY))
    fee = fields.index("fee_cents")
    reach = min(request.max_distance_km * 2, MAX_DISTANCE_KM)
    within: list[Any] = []
    groups: dict[tuple[Any, ...], list[Any]] = {}
    for row in rows:
        lat, lon, office_zip = place(row)
        distance = None if lat is None or lon is None else distance_km(request.location, (lat, lon))
        if distance is not None and distance <= request.max_distance_km:
            within.append(row)
            continue
        key = (
            distance is not None and distance <= reach,
            office_zip is None,
            row[fee] is None,
            key_of(row),
        )
        group = groups.get(key)
        if group is None:
            groups[key] = [row, 1]
        else:
            group[1] += 1
    standing = to_candidates([row for row, _ in groups.values()], request)
    return within, [(c, n) for c, (_, n) in zip(standing, groups.values(), strict=True)]
