"""The online search's one statement, built once per request shape with every value bound.

A search's statement depends on its request only through a few structural choices
(`Shape`: which filters apply, how many weighted tags the score reads, ...); each is
built once and kept (`online_statement`), and a request brings only the values of its
bound parameters (`online_shape`). Building it anew cost 3-5 ms of Python a search.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    Float,
    Integer,
    String,
    and_,
    any_,
    bindparam,
    case,
    cast,
    false,
    func,
    literal,
    select,
    true,
)
from sqlalchemy.orm import aliased

from teletherapy.domain.fees import FeeBand
from teletherapy.domain.matching_types import MatchRequest
from teletherapy.extensions import db
from teletherapy.models import OnlineListing, TherapistFee, TherapistProfile, TherapistTag
from teletherapy.services.matching.candidates import (
    _tag_flag,
    _wanted_kinds,
    _week_columns,
    candidate_select,
    online_in,
    week_bounds,
    week_counts,
    week_counts_lateral,
)

# The week's bounds and reduced bands' codes as bound parameters.
_BOUND_WEEK: tuple[Any, Any, Any] = (
    bindparam("week_start"),
    bindparam("week_end"),
    bindparam("reduced", expanding=True),
)


def bound_values(request: MatchRequest, bands: Sequence[FeeBand], now: datetime) -> dict[str, Any]:
    """The values every kept matching statement binds: the state, the band, and the week
    (`_BOUND_WEEK`)."""
    start, end = week_bounds(now)
    return {
        "state": request.state,
        "band": request.fee_band.code,
        "week_start": start,
        "week_end": end,
        "reduced": [b.code for b in bands if b.is_reduced],
    }


def flag_names(request: MatchRequest) -> list[str]:
    """The hard filters beyond place and band, in the order domain.matching.hard_filter
    checks them: each required language ("language_<i>", i its place among the wishes),
    the age group, reduced-fee capacity."""
    names = [f"language_{i}" for i, wish in enumerate(request.languages) if wish.required]
    if request.age_group:
        names.append("age_group")
    if request.fee_band.is_reduced:
        names.append("capacity")
    return names


def _flag(name: str, code: Any, used: Any, row: Any = TherapistProfile) -> Any:
    """One of flag_names as an SQL condition; `code` the wish's code (a value or a bound
    parameter), `used` the reduced-fee sessions booked this week (capacity), `row` what
    carries the therapist's weekly cap (the profile, or an online listing)."""
    if name == "capacity":
        return row.reduced_fee_weekly_cap.is_(None) | (used < row.reduced_fee_weekly_cap)
    return _tag_flag("language" if name.startswith("language_") else name, code)


def filter_flags(
    request: MatchRequest, bands: Sequence[FeeBand], now: datetime
) -> list[tuple[str, Any]]:
    """flag_names as named SQL conditions with the request's values."""
    codes: dict[str, Any] = {f"language_{i}": w.code for i, w in enumerate(request.languages)}
    codes["age_group"] = request.age_group
    used = _week_columns(bands, now)[1] if request.fee_band.is_reduced else None
    return [(name, _flag(name, codes.get(name), used)) for name in flag_names(request)]


@dataclass(frozen=True)
class Shape:
    """What decides the structure of an online search's statement, and nothing else: the
    statement is built once per shape (`online_statement`, kept) and every value of a
    request (state, band, week, codes, weights, limit) is a bound parameter (`online_shape`).
    Building it cost 3-5 ms of Python a search; executing a kept one skips that."""

    dialect: str
    flags: tuple[str, ...]  # filter_flags' names, in order
    arms: tuple[str, ...]  # the tag kind of each weighted (kind, code) of the score
    group: bool  # "group" among the modalities
    gender: bool
    faith: bool
    lgbtq: bool
    scored: bool  # the score's denominator is above 0
    tag_kinds: tuple[str, ...]  # the tag kinds the candidates' rows carry


def online_shape(
    request: MatchRequest, bands: Sequence[FeeBand], now: datetime, total: float, fetch: int
) -> tuple[Shape, dict[str, Any]]:
    """The shape of this online request's statement and its bound values, with the
    score's numerator weighed as domain.matching._score_value adds it up before openings
    are known (an online request: no distance, no opening yet)."""
    values = {**bound_values(request, bands, now), "total": float(total), "fetch": fetch}
    flags = flag_names(request)
    for i, wish in enumerate(request.languages):
        if wish.required:
            values[f"language_{i}"] = wish.code
    if request.age_group:
        values["age_group"] = request.age_group
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
    for j, ((_, code), weight) in enumerate(weights.items()):
        values[f"arm_code_{j}"], values[f"arm_weight_{j}"] = code, weight
    gender = request.gender is not None and bool(request.gender.weight)
    if request.gender is not None and gender:
        values["gender_code"] = request.gender.code
        values["gender_weight"] = float(request.gender.weight)
    values["group_share"] = group_share
    values["faith"] = float(request.faith_integrated)
    values["lgbtq"] = float(request.lgbtq_affirming)
    shape = Shape(
        dialect=db.session.get_bind().dialect.name,
        flags=tuple(flags),
        arms=tuple(kind for kind, _ in weights),
        group=bool(group_share),
        gender=gender,
        faith=bool(request.faith_integrated),
        lgbtq=bool(request.lgbtq_affirming),
        scored=total > 0,
        tag_kinds=tuple(_wanted_kinds(request)),
    )
    return shape, values


def _float(name: str) -> Any:
    return bindparam(name, type_=Float())


def has_tag(kind: str, code: Any, codes: Any) -> Any:
    """The therapist has this tag, from the profile row's `tag_codes` (PostgreSQL, kept by
    0018_tag_codes' triggers): one array test instead of a probe of therapist_tags. False,
    never NULL, where the profile has no codes yet."""
    return func.coalesce((literal(f"{kind}:", String) + code) == any_(codes), false())


def _bound_flags(
    flags: tuple[str, ...], dialect: str, used: Any, row: Any = TherapistProfile
) -> list[tuple[str, Any]]:
    """filter_flags with bound values (each code under its flag's own name); the tag
    flags from the tag codes of `row` (the profile, or an online listing) on PostgreSQL;
    `used` the reduced-fee sessions booked this week (capacity)."""
    found = []
    for name in flags:
        if name != "capacity" and dialect == "postgresql":
            kind = "language" if name.startswith("language_") else name
            code = bindparam(name, type_=String())
            found.append((name, has_tag(kind, code, row.tag_codes)))
        else:
            found.append((name, _flag(name, bindparam(name), used, row)))
    return found


def _earned(shape: Shape, row: Any) -> Any:
    """The score's numerator in SQL (weights bound: `online_shape`); `row` gives the
    columns id, offers_group, gender, faith_integrated and lgbtq_affirming (and on
    PostgreSQL tag_codes)."""
    terms: list[Any] = []
    if shape.arms and shape.dialect == "postgresql":
        # Each wish once, tested on the row's tag codes (the weights merge repeats).
        terms.extend(
            case(
                (
                    has_tag(kind, bindparam(f"arm_code_{j}", type_=String()), row.tag_codes),
                    _float(f"arm_weight_{j}"),
                ),
                else_=literal(0.0),
            )
            for j, kind in enumerate(shape.arms)
        )
    elif shape.arms:
        T = aliased(TherapistTag)
        by_tag = case(
            *(
                (
                    and_(T.kind == kind, T.code == bindparam(f"arm_code_{j}")),
                    _float(f"arm_weight_{j}"),
                )
                for j, kind in enumerate(shape.arms)
            ),
            else_=literal(0.0),
        )
        terms.append(
            select(func.coalesce(func.sum(by_tag), literal(0.0)))
            .where(T.therapist_id == row.id, T.kind.in_(sorted(set(shape.arms))))
            .scalar_subquery()
        )
    if shape.group:
        offers = row.offers_group.is_(True) | (
            has_tag("modality", literal("group", String), row.tag_codes)
            if shape.dialect == "postgresql"
            else _tag_flag("modality", "group", row.id)
        )
        terms.append(case((offers, _float("group_share")), else_=literal(0.0)))
    if shape.gender:
        terms.append(
            case(
                (row.gender == bindparam("gender_code"), _float("gender_weight")),
                else_=literal(0.0),
            )
        )
    for column, name, wanted in (
        (row.faith_integrated, "faith", shape.faith),
        (row.lgbtq_affirming, "lgbtq", shape.lgbtq),
    ):
        if wanted:
            terms.append(case((column.is_(True), _float(name)), else_=literal(0.0)))
    if not terms:
        return literal(0.0)
    total = terms[0]
    for term in terms[1:]:
        total = total + term
    return total


def _bucket(earned: Any, shape: Shape) -> Any:
    """floor(earned * 1000 / total + 0.5 + 1e-7): the score in thousandths, never below
    what the domain's rounding gives and at most one above it (only next to a half)."""
    if not shape.scored:
        return literal(0)
    value = earned * literal(1000.0) / _float("total") + literal(0.5 + 1e-7)
    if shape.dialect == "postgresql":
        return func.floor(value)
    return cast(value, Integer)  # SQLite truncates, the same for values >= 0


def _mask(flags: tuple[str, ...], columns: Any) -> Any:
    """The filter flags of a row as one integer (bit i set: flag `flags[i]` holds)."""
    mask: Any = literal(0)
    for i, name in enumerate(flags):
        mask = mask + case((columns[name], literal(1 << i)), else_=literal(0))
    return mask


def _joined(value: Any, dialect: str) -> Any:
    if dialect == "postgresql":
        return func.string_agg(value, literal(";"))
    return func.group_concat(value, literal(";"))


def _listed(shape: Shape) -> Any:
    """The therapists in place on PostgreSQL: the online listings of the state and band
    (0019_online_listings: verified, accepting, online there, a price in the band), with
    the week's sessions and reduced-fee ones from one probe each (a LATERAL subquery)."""
    L = OnlineListing
    week = week_counts_lateral(*_BOUND_WEEK, therapist_id=L.therapist_id)
    flags = _bound_flags(shape.flags, shape.dialect, week.c.used, L)
    return (
        select(
            L.therapist_id.label("id"),
            L.offers_group,
            L.gender,
            L.faith_integrated,
            L.lgbtq_affirming,
            L.tag_codes,
            L.fee_cents,
            week.c.booked.label("booked"),
            week.c.used.label("used"),
            *(condition.label(name) for name, condition in flags),
        )
        .join(week, true())
        .where(L.state == bindparam("state"), L.band_code == bindparam("band"))
    )


def _joined_in_place(shape: Shape) -> Any:
    """The therapists in place elsewhere (SQLite): verified, accepting, online in the
    state, with their price in the band and the week's counts."""
    P = TherapistProfile
    booked, used = week_counts(*_BOUND_WEEK)
    flags = _bound_flags(shape.flags, shape.dialect, used)
    return (
        select(
            P.id.label("id"),
            P.offers_group,
            P.gender,
            P.faith_integrated,
            P.lgbtq_affirming,
            TherapistFee.fee_cents,
            booked.label("booked"),
            used.label("used"),
            *(condition.label(name) for name, condition in flags),
        )
        .join_from(
            P,
            TherapistFee,
            and_(TherapistFee.therapist_id == P.id, TherapistFee.band_code == bindparam("band")),
        )
        .where(
            P.verified_at.is_not(None),
            P.accepting_new_clients.is_(True),
            online_in(bindparam("state")),
        )
    )


@lru_cache(maxsize=512)
def online_statement(shape: Shape) -> Any:
    """One statement: the therapists in place are read once (a CTE) for both the groups
    of `count_in_place` (as "mask:count;mask:count", the same value on every row) and the
    best `fetch` of those who pass, by bucket, sessions booked this week and id, whose
    whole rows only are loaded. Built from the shape alone: every value is bound."""
    P = TherapistProfile
    scan = (_listed if shape.dialect == "postgresql" else _joined_in_place)(shape).cte("in_place")
    groups = (
        select(_mask(shape.flags, scan.c).label("mask"), func.count().label("n"))
        .select_from(scan)
        .group_by(*(scan.c[name] for name in shape.flags))
        .subquery("groups")
    )
    counted = (
        select(
            _joined(
                cast(groups.c.mask, String) + literal(":") + cast(groups.c.n, String),
                shape.dialect,
            )
        )
        .select_from(groups)
        .scalar_subquery()
    )
    # The score's numerator, for those who pass.
    earned = _earned(shape, scan.c).label("earned")
    bucket = _bucket(earned, shape).label("bucket")
    top = (
        select(scan.c.id, scan.c.fee_cents, scan.c.booked, scan.c.used, earned, bucket)
        .where(*(scan.c[name] for name in shape.flags), true())
        .order_by(bucket.desc(), scan.c.booked, scan.c.id)
        .limit(bindparam("fetch", type_=Integer()))
        .subquery("top")
    )
    return (
        candidate_select(
            "online",
            bindparam("state"),
            bindparam("band"),
            _BOUND_WEEK,
            shape.tag_kinds,
            band_required=True,
            carried=top,  # price and counts read with the therapists in place
        )
        .select_from(P)
        .join(top, top.c.id == P.id)
        .add_columns(top.c.earned.label("earned"), counted.label("groups"))
        .order_by(top.c.bucket.desc(), top.c.booked, top.c.id)
    )
