"""Loading search candidates: the indexed SQL prefilter and bulk loads (see search.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, time, timedelta
from operator import itemgetter
from typing import Any

from sqlalchemy import (
    String,
    and_,
    case,
    exists,
    false,
    func,
    literal,
    select,
    true,
)
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from teletherapy.domain.fees import FeeBand
from teletherapy.domain.geo import bounding_box
from teletherapy.domain.matching_types import (
    MAX_DISTANCE_KM,
    HomeVisits,
    MatchRequest,
    Office,
    TherapistCandidate,
)
from teletherapy.domain.slots import Schedule
from teletherapy.extensions import db
from teletherapy.models import (
    ACTIVE_STATUSES,
    Booking,
    TherapistFee,
    TherapistProfile,
    TherapistTag,
)
from teletherapy.services.availability.rules import next_openings, next_openings_fitting
from teletherapy.services.availability.schedules import is_therapist_time
from teletherapy.services.matching.profiles import HOME_RADIUS_MAX_KM

# Light candidates carry only the client's state; this stands for "online in other states".
OTHER_STATES = "other"


def week_bounds(now: datetime) -> tuple[datetime, datetime]:
    """This week, Monday 00:00 UTC to the next Monday: the period of the reduced-fee cap."""
    today = now.astimezone(UTC).date()
    monday = datetime.combine(today - timedelta(days=today.weekday()), time(0), tzinfo=UTC)
    return monday, monday + timedelta(days=7)


def read_rows(statement: Any) -> list[Any]:
    """Rows through Core on the session's connection: the ORM's per-row work is the
    largest cost for a few thousand narrow rows, and these are plain columns anyway."""
    return list(db.session.connection().execute(statement))


def _tag_flag(kind: str, code: Any, therapist_id: Any = None) -> ColumnElement[bool]:
    """Whether the therapist (the profile row, or the given id column) has this tag
    (`code` a value or a bound parameter)."""
    return exists().where(
        TherapistTag.therapist_id
        == (TherapistProfile.id if therapist_id is None else therapist_id),
        TherapistTag.kind == kind,
        TherapistTag.code == code,
    )


def _in_box(lat: Any, lon: Any, center: tuple[float, float], radius_km: float) -> Any:
    box = bounding_box(center, radius_km)
    return and_(lat.between(box.min_lat, box.max_lat), lon.between(box.min_lon, box.max_lon))


def place_filter(request: MatchRequest) -> ColumnElement[bool]:
    """Where a therapist must be to matter for this request or its distance relaxation.

    Online: the tag index (online in the client's state). In person: the lat/lon index
    inside a bounding box, as its own SELECT of ids so the planner starts from the index.
    """
    P = TherapistProfile
    if request.setting == "online" or request.location is None:
        return online_in(request.state)
    if request.setting == "in_office":
        reach = min(request.max_distance_km * 2, MAX_DISTANCE_KM)
        box = _in_box(P.office_lat, P.office_lon, request.location, reach)
    else:
        box = _in_box(P.home_lat, P.home_lon, request.location, HOME_RADIUS_MAX_KM)
    return P.id.in_(select(P.id).where(box))


def online_in(state: Any) -> ColumnElement[bool]:
    """Online in the state (a value or a bound parameter), driven by the tag index (an
    EXISTS here would scan every profile)."""
    return TherapistProfile.id.in_(
        select(TherapistTag.therapist_id).where(
            TherapistTag.kind == "online_state", TherapistTag.code == state
        )
    )


# Tag kind -> the TherapistCandidate field it fills.
_TAG_FIELDS = {
    "language": "languages",
    "modality": "modalities",
    "concern": "concerns",
    "culture": "cultural_backgrounds",
    "age_group": "age_groups",
}


def _wanted_kinds(request: MatchRequest) -> list[str]:
    """The tag kinds this request's filters, score and reasons look at."""
    wanted = (
        ("language", request.languages),
        ("modality", request.modalities),
        ("concern", request.concerns),
        ("culture", request.cultural_backgrounds),
        ("age_group", request.age_group),
    )
    return [kind for kind, asked in wanted if asked]


def _tags_column(kinds: Sequence[str]) -> Any:
    """The therapist's tags of these kinds as one "kind:code,kind:code" string per row."""
    if not kinds:
        return literal(None, String)
    T = aliased(TherapistTag)
    item = T.kind + ":" + T.code
    joined = (
        func.string_agg(item, ",")
        if db.session.get_bind().dialect.name == "postgresql"
        else func.group_concat(item, ",")
    )
    return (
        select(joined)
        .where(T.therapist_id == TherapistProfile.id, T.kind.in_(list(kinds)))
        .scalar_subquery()
    )


def _week_columns(
    bands: Sequence[FeeBand], now: datetime, therapist_id: Any = None
) -> tuple[Any, Any]:
    """Sessions booked this week, and those in a reduced band (the weekly cap), of the
    profile row's therapist or of the given id column."""
    start, end = week_bounds(now)
    return week_counts(start, end, [b.code for b in bands if b.is_reduced], therapist_id)


def week_counts(start: Any, end: Any, reduced: Any, therapist_id: Any = None) -> tuple[Any, Any]:
    """_week_columns from the week's bounds and the reduced bands' codes (values, or bound
    parameters: `reduced` then an expanding one)."""
    this_week = _this_week(start, end, therapist_id)
    booked = select(func.count()).where(*this_week).scalar_subquery()
    used = select(func.count()).where(*this_week, Booking.fee_band.in_(reduced)).scalar_subquery()
    return booked, used


def week_counts_lateral(start: Any, end: Any, reduced: Any, therapist_id: Any = None) -> Any:
    """week_counts as one LATERAL subquery of the profile row's therapist (or of the given
    id column; PostgreSQL): columns `booked` and `used` from one probe of the bookings
    index, not two."""
    return (
        select(
            func.count().label("booked"),
            func.count().filter(Booking.fee_band.in_(reduced)).label("used"),
        )
        .where(*_this_week(start, end, therapist_id))
        .lateral("week")
    )


def _this_week(start: Any, end: Any, therapist_id: Any) -> tuple[Any, ...]:
    return (
        Booking.therapist_id == (TherapistProfile.id if therapist_id is None else therapist_id),
        Booking.status.in_(ACTIVE_STATUSES),
        Booking.start_at >= start,
        Booking.start_at < end,
        is_therapist_time(),  # group members' own rows are not the therapist's sessions
    )


def candidate_query(
    request: MatchRequest,
    bands: Sequence[FeeBand],
    now: datetime,
    *,
    band_required: bool,
    booked_when: Any = None,
) -> Any:
    """One row per therapist with everything matching needs (correlated subqueries use
    the tag primary key and the bookings (therapist_id, start_at) index).

    For a search (`band_required`) the flags that cannot change the answer are left out:
    online elsewhere only matters for an online request (and those rows are all online
    here), a licence in the state only for home visits. With `booked_when`, the week's
    sessions are counted only for rows meeting that condition (0 for the others: the
    hard filters rule them out, and only ranking reads the count).
    """
    start, end = week_bounds(now)
    return candidate_select(
        request.setting,
        request.state,
        request.fee_band.code,
        (start, end, [b.code for b in bands if b.is_reduced]),
        tuple(_wanted_kinds(request)),
        band_required=band_required,
        booked_when=booked_when,
    )


def candidate_select(
    setting: str,
    state: Any,
    band_code: Any,
    week: tuple[Any, Any, Any],
    tag_kinds: tuple[str, ...],
    *,
    band_required: bool,
    booked_when: Any = None,
    tags_when: tuple[Any, tuple[str, ...]] | None = None,
    carried: Any = None,
    counts: tuple[Any, Any] | None = None,
) -> Any:
    """candidate_query from its values (the state, the band's code and the week's bounds
    and reduced codes may be bound parameters; the rest decides the statement's shape).
    With `tags_when` (a condition, other kinds), rows not meeting the condition carry
    only the tags of the other kinds. With `carried` (a subquery the caller joins, whose
    columns fee_cents, booked and used hold the band's price and the week's counts,
    already read), neither therapist_fees nor bookings is read again. With `counts` (the
    columns booked and used of a subquery the caller joins, week_counts_lateral), bookings
    is not read here."""
    P = TherapistProfile
    single = not band_required
    online_anywhere: Any = (
        exists().where(TherapistTag.therapist_id == P.id, TherapistTag.kind == "online_state")
        if single
        else false()
    )
    licensed_here: Any = (
        _tag_flag("licence_state", state) if single or setting == "home" else false()
    )
    if carried is not None:
        booked, used = carried.c.booked, carried.c.used
    else:
        booked, used = counts if counts is not None else week_counts(*week)
    columns: list[Any] = [
        P.id,
        P.display_name,
        P.verified_at.is_not(None).label("is_verified"),
        P.accepting_new_clients,
        P.gender,
        P.faith_integrated,
        P.lgbtq_affirming,
        P.offers_group,
        P.office_zip,
        P.office_lat,
        P.office_lon,
        P.home_zip,
        P.home_lat,
        P.home_lon,
        P.home_radius_km,
        P.reduced_fee_weekly_cap,
        (TherapistFee.fee_cents if carried is None else carried.c.fee_cents).label("fee_cents"),
        # A search for online sessions only loads therapists online in the state.
        (
            true() if band_required and setting == "online" else _tag_flag("online_state", state)
        ).label("online_here"),
        online_anywhere.label("online_anywhere"),
        licensed_here.label("licensed_here"),
        (
            _tags_column(tag_kinds)
            if tags_when is None
            else case((tags_when[0], _tags_column(tag_kinds)), else_=_tags_column(tags_when[1]))
        ).label("tags"),
        (booked if booked_when is None else case((booked_when, booked), else_=literal(0))).label(
            "booked"
        ),
        used.label("used"),
    ]
    on = and_(TherapistFee.therapist_id == P.id, TherapistFee.band_code == band_code)
    stmt = select(*columns)
    if carried is not None:
        return stmt
    return stmt.join(TherapistFee, on) if band_required else stmt.outerjoin(TherapistFee, on)


# The columns to_candidates reads, in this order (candidate_select names them).
_CANDIDATE_COLUMNS = (
    "id",
    "display_name",
    "is_verified",
    "accepting_new_clients",
    "gender",
    "faith_integrated",
    "lgbtq_affirming",
    "offers_group",
    "office_zip",
    "office_lat",
    "office_lon",
    "home_zip",
    "home_lat",
    "home_lon",
    "home_radius_km",
    "reduced_fee_weekly_cap",
    "fee_cents",
    "online_here",
    "online_anywhere",
    "licensed_here",
    "tags",
    "booked",
    "used",
)


def to_candidates(rows: Iterable[Any], request: MatchRequest) -> list[TherapistCandidate]:
    """Domain candidates from the rows; states are reduced to the client's state.

    Columns are read by position (one itemgetter a row): a Row's attribute lookup by
    name cost ~6 us a row for these 23 columns, half of building 1,300 candidates."""
    rows = list(rows)
    if not rows:
        return []
    fields = rows[0]._fields
    columns = itemgetter(*(fields.index(name) for name in _CANDIDATE_COLUMNS))
    band = request.fee_band.code
    state = request.state
    in_person = request.setting != "online"  # places matter only to in-person requests
    candidates = []
    for row in rows:
        (
            therapist_id,
            display_name,
            is_verified,
            accepting,
            gender,
            faith_integrated,
            lgbtq_affirming,
            offers_group,
            office_zip,
            office_lat,
            office_lon,
            home_zip,
            home_lat,
            home_lon,
            home_radius_km,
            cap,
            fee_cents,
            online_here,
            online_anywhere,
            licensed_here,
            tag_items,
            booked,
            used,
        ) = columns(row)
        office = (
            Office(office_lat, office_lon, office_zip)
            if in_person and office_lat is not None and office_zip is not None
            else None
        )
        home = (
            HomeVisits(home_lat, home_lon, home_zip, home_radius_km)
            if in_person and home_lat is not None and home_zip is not None and home_radius_km
            else None
        )
        tags: dict[str, list[str]] = {name: [] for name in _TAG_FIELDS.values()}
        for item in (tag_items or "").split(","):
            kind, _, code = item.partition(":")
            if kind in _TAG_FIELDS:
                tags[_TAG_FIELDS[kind]].append(code)
        candidates.append(
            TherapistCandidate(
                id=therapist_id,
                display_name=display_name,
                is_verified=bool(is_verified),
                accepting_new_clients=bool(accepting),
                languages=tuple(tags["languages"]),
                modalities=tuple(tags["modalities"]),
                concerns=tuple(tags["concerns"]),
                cultural_backgrounds=tuple(tags["cultural_backgrounds"]),
                age_groups=tuple(tags["age_groups"]),
                gender=gender,
                faith_integrated=bool(faith_integrated),
                lgbtq_affirming=bool(lgbtq_affirming),
                offers_group=bool(offers_group),
                # In person, the licence decides (online states are licence states too);
                # the online relaxation is counted apart (online_alternative).
                online_states=(
                    ()
                    if in_person
                    else (state,)
                    if online_here
                    else (OTHER_STATES,)
                    if online_anywhere
                    else ()
                ),
                licence_states=(state,) if licensed_here else (),
                office=office,
                home=home,
                fees_by_band={band: fee_cents} if fee_cents is not None else {},
                reduced_fee_weekly_cap=cap,
                reduced_fee_used_this_week=int(used or 0),
                booked_this_week=int(booked or 0),
            )
        )
    return candidates


def next_openings_for(
    therapist_ids: Sequence[int], *, setting: str, now: datetime
) -> dict[int, datetime | None]:
    """The next free slot of each therapist in `setting`, for a new client."""
    return next_openings(therapist_ids=therapist_ids, setting=setting, now=now, is_new_client=True)


def preferred_openings_for(
    therapist_ids: Sequence[int],
    *,
    setting: str,
    now: datetime,
    fits: Callable[[datetime], bool],
    may_fit: Callable[[datetime, datetime], bool] | None = None,
    may_ever_fit: Callable[[Schedule], bool] | None = None,
) -> dict[int, datetime | None]:
    """The next free slot of each therapist in `setting` that `fits` (preferred times)."""
    return next_openings_fitting(
        therapist_ids=therapist_ids,
        setting=setting,
        now=now,
        fits=fits,
        is_new_client=True,
        may_fit=may_fit,
        may_ever_fit=may_ever_fit,
    )
