"""The in-person search's statement, built once per request shape with every value bound.

Every therapist in the bounding box comes back as a row (distances decide the filters and
the score, so the domain ranks them: see shortlist.in_person_overview). Two things make
the rows cheaper than `candidate_query`'s:

* the statement is built once per `Shape` (its setting, the hard filters that apply, the
  tag kinds loaded); the box, state, band, week and codes are bound parameters
  (`in_person_shape`). Building it anew cost ~1.5 ms of Python a search;
* in office, only the rows inside the request's own distance (a bounding box, padded)
  can be shown, so only they count the week's sessions (which only ranking reads) and
  carry the tags that only the score and reasons read. The others carry the tags the
  hard filters read (required languages, the age group): enough for `removed_by` and the
  relaxations, which never look at the score.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import and_, bindparam, true

from teletherapy.domain.fees import FeeBand
from teletherapy.domain.geo import bounding_box
from teletherapy.domain.matching_types import MAX_DISTANCE_KM, MatchRequest
from teletherapy.extensions import db
from teletherapy.models import TherapistProfile
from teletherapy.services.matching.candidates import (
    _wanted_kinds,
    candidate_select,
    week_counts,
    week_counts_lateral,
)
from teletherapy.services.matching.online_statement import (
    _BOUND_WEEK,
    _bound_flags,
    bound_values,
    flag_names,
)
from teletherapy.services.matching.profiles import HOME_RADIUS_MAX_KM

# Padding of the box of the request's own distance: floating point at its edge must
# never leave out a row the domain finds just inside the distance (a wider box only
# costs a few more rows their week's count and tags).
INNER_PAD_KM = 1.0


@dataclass(frozen=True)
class Shape:
    """What decides the structure of an in-person statement, and nothing else."""

    dialect: str
    setting: str  # "in_office" or "home"
    flags: tuple[str, ...]  # flag_names, in order
    tag_kinds: tuple[str, ...]  # the tag kinds the rows carry (what the request looks at)
    filter_kinds: tuple[str, ...]  # those the hard filters read (rows that cannot be shown)


def _box_values(prefix: str, center: tuple[float, float], radius_km: float) -> dict[str, float]:
    box = bounding_box(center, radius_km)
    return {
        f"{prefix}_min_lat": box.min_lat,
        f"{prefix}_max_lat": box.max_lat,
        f"{prefix}_min_lon": box.min_lon,
        f"{prefix}_max_lon": box.max_lon,
    }


def in_person_shape(
    request: MatchRequest, bands: Sequence[FeeBand], now: datetime
) -> tuple[Shape, dict[str, Any]]:
    """The shape of this in-person request's statement and its bound values."""
    if request.location is None or request.setting not in ("in_office", "home"):
        raise ValueError("an in-person request with a location")
    values = bound_values(request, bands, now)
    for i, wish in enumerate(request.languages):
        if wish.required:
            values[f"language_{i}"] = wish.code
    if request.age_group:
        values["age_group"] = request.age_group
    if request.setting == "in_office":
        reach = min(request.max_distance_km * 2, MAX_DISTANCE_KM)
        values |= _box_values("box", request.location, reach)
        values |= _box_values("near", request.location, request.max_distance_km + INNER_PAD_KM)
    else:
        values |= _box_values("box", request.location, HOME_RADIUS_MAX_KM)
    flags = flag_names(request)
    filter_kinds = tuple(
        kind
        for kind, asked in (
            ("language", any(w.required for w in request.languages)),
            ("age_group", request.age_group),
        )
        if asked
    )
    shape = Shape(
        dialect=db.session.get_bind().dialect.name,
        setting=request.setting,
        flags=tuple(flags),
        tag_kinds=tuple(_wanted_kinds(request)),
        filter_kinds=filter_kinds,
    )
    return shape, values


def _in_box(lat: Any, lon: Any, prefix: str) -> Any:
    return and_(
        lat.between(bindparam(f"{prefix}_min_lat"), bindparam(f"{prefix}_max_lat")),
        lon.between(bindparam(f"{prefix}_min_lon"), bindparam(f"{prefix}_max_lon")),
    )


@lru_cache(maxsize=256)
def in_person_statement(shape: Shape) -> Any:
    """One row per therapist in the box (verified, accepting, in the band), as
    `candidate_query` gives it for the rows that may be shown (see the module's doc).
    Built from the shape alone: every value is bound."""
    P = TherapistProfile
    office = shape.setting == "in_office"
    lat, lon = (P.office_lat, P.office_lon) if office else (P.home_lat, P.home_lon)
    # On PostgreSQL the week's sessions and reduced-fee ones from one probe of each row's
    # bookings (a LATERAL subquery), not one for `used` and another for the shown rows'
    # `booked` (Harlem at 100,000: 1,322 probes instead of 2,142).
    week = week_counts_lateral(*_BOUND_WEEK) if shape.dialect == "postgresql" else None
    counts = (week.c.booked, week.c.used) if week is not None else week_counts(*_BOUND_WEEK)
    used = counts[1]
    tag_flags = [
        c for name, c in _bound_flags(shape.flags, shape.dialect, used) if name != "capacity"
    ]
    near = _in_box(P.office_lat, P.office_lon, "near") if office else true()
    ranked = and_(*tag_flags, near) if tag_flags or office else None
    statement = candidate_select(
        shape.setting,
        bindparam("state"),
        bindparam("band"),
        _BOUND_WEEK,
        shape.tag_kinds,
        band_required=True,
        booked_when=ranked,
        # Rows beyond the request's own distance carry only the tags the filters read.
        tags_when=(near, shape.filter_kinds) if office else None,
        counts=counts,
    )
    if week is not None:
        statement = statement.join(week, true())
    return statement.where(
        P.verified_at.is_not(None),
        P.accepting_new_clients.is_(True),
        # The planner starts from the lat/lon index (a bitmap scan of the box's rows);
        # as `id IN (SELECT id ... box)` each row was then read again by its key (100,000
        # therapists, Harlem: 1,928 probes, 28.7 -> 25.1 ms).
        _in_box(lat, lon, "box"),
    )
