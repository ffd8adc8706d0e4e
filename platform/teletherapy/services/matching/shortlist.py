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
from typing import Any

from sqlalchemy import Integer, String, and_, case, cast, func, literal, select, true
from sqlalchemy.orm import aliased

from teletherapy.domain.fees import FeeBand
from teletherapy.domain.matching import count_filters, rank, wish_total
from teletherapy.domain.matching_types import (
    MatchRequest,
    MatchResult,
    TherapistCandidate,
)
from teletherapy.extensions import db
from teletherapy.models import TherapistFee, TherapistProfile, TherapistTag
from teletherapy.services.matching.candidates import (
    _tag_flag,
    _week_columns,
    candidate_query,
    place_filter,
    read_rows,
    to_candidates,
)

# Rows beyond the window that the SQL order brings back, so that float sums in a
# different order never decide who is shown (the domain re-ranks them exactly).
MARGIN = 20


@dataclass(frozen=True)
class Overview:
    """The first pass: counts, relaxations and the best `window` without openings."""

    result: MatchResult
    considered: int  # therapists in place (verified, accepting, in the band)
    candidates: list[TherapistCandidate]  # in person: every candidate row that was loaded


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


def filter_flags(
    request: MatchRequest, bands: Sequence[FeeBand], now: datetime
) -> list[tuple[str, Any]]:
    """The hard filters beyond place and band as named SQL conditions, in the order
    domain.matching.hard_filter checks them: each required language, the age group,
    reduced-fee capacity."""
    flags: list[tuple[str, Any]] = [
        (f"language_{i}", _tag_flag("language", wish.code))
        for i, wish in enumerate(request.languages)
        if wish.required
    ]
    if request.age_group:
        flags.append(("age_group", _tag_flag("age_group", request.age_group)))
    if request.fee_band.is_reduced:
        P = TherapistProfile
        _, used = _week_columns(bands, now)
        flags.append(
            ("capacity", (P.reduced_fee_weekly_cap.is_(None)) | (used < P.reduced_fee_weekly_cap))
        )
    return flags


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


def _earned(request: MatchRequest, row: Any = None) -> Any:
    """The score's numerator in SQL, as domain.matching._score_value adds it up before
    openings are known (an online request: no distance, no opening yet). `row` gives
    the columns (id, offers_group, gender, faith_integrated, lgbtq_affirming); by
    default the profile's own."""
    P = TherapistProfile if row is None else row
    weights: dict[tuple[str, str], float] = {}

    def add(kind: str, code: str, weight: float) -> None:
        weights[(kind, code)] = weights.get((kind, code), 0.0) + weight

    for wish in request.languages:
        if not wish.required:
            add("language", wish.code, float(wish.weight))
    group_share = 0.0
    for modality in request.modalities:
        share = 1 / len(request.modalities)
        if modality == "group":
            group_share += share  # offered as a tag or as the profile's groups
        else:
            add("modality", modality, share)
    for concern in request.concerns:
        add("concern", concern, 1 / len(request.concerns))
    for pref in request.cultural_backgrounds:
        add("culture", pref.code, float(pref.weight))
    terms: list[Any] = []
    if weights:
        T = aliased(TherapistTag)
        by_tag = case(
            *(
                (and_(T.kind == kind, T.code == code), literal(weight))
                for (kind, code), weight in weights.items()
            ),
            else_=literal(0.0),
        )
        terms.append(
            select(func.coalesce(func.sum(by_tag), literal(0.0)))
            .where(T.therapist_id == P.id, T.kind.in_(sorted({k for k, _ in weights})))
            .scalar_subquery()
        )
    if group_share:
        offers = P.offers_group.is_(True) | _tag_flag("modality", "group", P.id)
        terms.append(case((offers, literal(group_share)), else_=literal(0.0)))
    if request.gender is not None and request.gender.weight:
        weight = float(request.gender.weight)
        terms.append(case((P.gender == request.gender.code, literal(weight)), else_=literal(0.0)))
    for column, weight in (
        (P.faith_integrated, request.faith_integrated),
        (P.lgbtq_affirming, request.lgbtq_affirming),
    ):
        if weight:
            terms.append(case((column.is_(True), literal(float(weight))), else_=literal(0.0)))
    if not terms:
        return literal(0.0)
    total = terms[0]
    for term in terms[1:]:
        total = total + term
    return total


def _bucket(earned: Any, total: float) -> Any:
    """floor(earned * 1000 / total + 0.5 + 1e-7): the score in thousandths, never below
    what the domain's rounding gives and at most one above it (only next to a half)."""
    if total <= 0:
        return literal(0)
    value = earned * literal(1000.0) / literal(total) + literal(0.5 + 1e-7)
    if db.session.get_bind().dialect.name == "postgresql":
        return func.floor(value)
    return cast(value, Integer)  # SQLite truncates, the same for values >= 0


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


def _mask(flags: list[tuple[str, Any]], columns: Any) -> Any:
    """The filter flags of a row as one integer (bit i set: flag i holds)."""
    mask: Any = literal(0)
    for i, (name, _) in enumerate(flags):
        mask = mask + case((columns[name], literal(1 << i)), else_=literal(0))
    return mask


def _joined(value: Any) -> Any:
    if db.session.get_bind().dialect.name == "postgresql":
        return func.string_agg(value, literal(";"))
    return func.group_concat(value, literal(";"))


def _scan_and_top(
    request: MatchRequest, bands: Sequence[FeeBand], now: datetime, total: float, fetch: int
) -> Any:
    """One statement: the therapists in place are read once (a CTE) for both the groups
    of `count_in_place` (as "mask:count;mask:count", the same value on every row) and the
    best `fetch` of those who pass, by bucket, sessions booked this week and id, whose
    whole rows only are loaded."""
    P = TherapistProfile
    flags = filter_flags(request, bands, now)
    scan = (
        select(
            P.id.label("id"),
            P.offers_group,
            P.gender,
            P.faith_integrated,
            P.lgbtq_affirming,
            *(condition.label(name) for name, condition in flags),
        )
        .select_from(P)
        .join(TherapistFee, _band_join(request))
        .where(*in_place(request))
        .cte("in_place")
    )
    groups = (
        select(_mask(flags, scan.c).label("mask"), func.count().label("n"))
        .select_from(scan)
        .group_by(*(scan.c[name] for name, _ in flags))
        .subquery("groups")
    )
    counted = (
        select(_joined(cast(groups.c.mask, String) + literal(":") + cast(groups.c.n, String)))
        .select_from(groups)
        .scalar_subquery()
    )
    # The score's numerator and the week's sessions: one probe each, for those who pass.
    earned = _earned(request, scan.c).label("earned")
    booked = _week_columns(bands, now, scan.c.id)[0].label("booked")
    bucket = _bucket(earned, total).label("bucket")
    top = (
        select(scan.c.id, earned, booked, bucket)
        .where(*(scan.c[name] for name, _ in flags), true())
        .order_by(bucket.desc(), booked, scan.c.id)
        .limit(fetch)
        .subquery("top")
    )
    return (
        candidate_query(request, bands, now, band_required=True)
        .join(top, top.c.id == P.id)
        .add_columns(top.c.earned.label("earned"), counted.label("groups"))
        .order_by(top.c.bucket.desc(), top.c.booked, top.c.id)
    )


def _read_groups(
    request: MatchRequest, flags: list[tuple[str, Any]], encoded: str
) -> tuple[int, dict[str, int], MatchResult]:
    """count_in_place's answer from the groups the one-statement search returns."""
    weighted = []
    for item in encoded.split(";"):
        mask, _, n = item.partition(":")
        traits = {name: bool(int(mask) >> i & 1) for i, (name, _) in enumerate(flags)}
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
        top = read_rows(_scan_and_top(request, bands, now, total, fetch))
        result = rank(to_candidates(top, request), windowed, now)
        if len(top) < fetch or _settled(result, top, total, window):
            break
        fetch *= 4  # rounding put the last shown next to a half: look further
    if top:
        considered, removed_by, counted = _read_groups(
            request, filter_flags(request, bands, now), top[0].groups
        )
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
    one statement (the week's sessions counted only for those the tag filters let
    through; the domain names the filter that removes each of the others and counts
    what each relaxation would add)."""
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
    candidates = to_candidates(rows, request)
    result = rank(candidates, dataclasses.replace(request, limit=window), now)
    return Overview(result=result, considered=len(candidates), candidates=candidates)
