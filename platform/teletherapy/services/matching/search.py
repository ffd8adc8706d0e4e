"""Find therapists for a client: SQL counts and a bounded top-k, then domain.matching.rank.

How a search runs (a fixed number of queries, whatever the number of therapists):

1. Resolve the fee band (a code, household income and size, the client's saved band, or
   the standard band) and the ZIP code's coordinates.
2. The first pass (shortlist.py). Online: the therapists in place (verified, accepting,
   online in the state, in the band: from the tag and fee indexes) are counted in SQL,
   grouped by what the hard filters read, so `removed_by` and the relaxations are exact
   without loading them; the best window (+ a margin) is picked in SQL by the score's
   numerator, sessions booked this week and id, and ranked exactly by the domain.
   Online, the counts and the best rows come from one statement (one scan of the state).
   In person: the therapists in the bounding box (twice the distance for the "travel
   up to 2x km" relaxation; home visits: HOME_RADIUS_MAX_KM) come back as rows of one
   statement built once per request shape (in_person_statement.py: sessions this week
   and the score's tags only for rows that can be shown), and the domain filters,
   counts and ranks them all.
   "allow online sessions" (in person only) is counted by one more query
   (online_alternative), on PostgreSQL on a connection of its own while the box is read
   and ranked. `removed_by` counts among the therapists in place (verified,
   accepting, in the band); relaxations never loosen the band, verification,
   acceptance or capacity.
3. The first pass keeps limit + OPENINGS_EXTRA therapists; their next openings are read
   from the stored openings (services/availability/openings.py), and they are ranked
   again with them. Among
   therapists tied on score and sessions booked beyond that window, the id decides
   rather than the opening: the price of a bounded cost.
4. The public shape of the shown therapists (three queries).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any

from sqlalchemy import bindparam, exists, select, text

from teletherapy.domain.availability import time_zone_error
from teletherapy.domain.errors import ConflictError, NotFoundError, ValidationError
from teletherapy.domain.fees import FeeBand, band_for_income, find_band
from teletherapy.domain.matching import (
    PreferredTimes,
    hard_filter,
    rank,
)
from teletherapy.domain.matching_types import (
    MAX_LIMIT,
    LanguageWish,
    MatchRequest,
    MatchResult,
    Preference,
    Relaxation,
    TimeWindow,
)
from teletherapy.domain.weekly_fit import may_ever_fit
from teletherapy.extensions import db
from teletherapy.gateways.zipcodes import find_zip
from teletherapy.models import (
    ACTIVE_STATUSES,
    Booking,
    ClientProfile,
    TherapistFee,
    User,
)
from teletherapy.services.availability.schedules import is_therapist_time
from teletherapy.services.equity import recording as equity_recording
from teletherapy.services.matching.candidates import (
    next_openings_for,
    preferred_openings_for,
    to_candidates,
)
from teletherapy.services.matching.fee_bands import current_guideline, list_fee_bands, standard_band
from teletherapy.services.matching.one_candidate import read_candidate
from teletherapy.services.matching.online_count import online_alternative
from teletherapy.services.matching.shapes import therapist_shapes
from teletherapy.services.matching.shortlist import in_person_overview, online_overview

logger = logging.getLogger(__name__)

OPENINGS_EXTRA = 5
DEFAULT_TIME_ZONE = "America/New_York"

FILTER_MESSAGES: dict[str, str] = {
    "not_verified": "This therapist's licence has not been verified yet.",
    "not_accepting": "This therapist is not taking new clients.",
    "setting_not_offered": "This therapist does not offer sessions in this setting.",
    "not_licensed_in_state": "This therapist is not licensed in your state.",
    "too_far": "This therapist's office is farther than you want to travel.",
    "outside_home_radius": "You live outside this therapist's home-visit area.",
    "language_required": "This therapist does not practise in a language you need.",
    "age_group": "This therapist does not see your age group.",
    "fee_band_not_accepted": "This therapist does not accept your fee band.",
    "reduced_fee_capacity_full": (
        "This therapist has no reduced-fee sessions left this week; try again next week."
    ),
    "client_location_unknown": "Tell us your state (and ZIP code for in-person sessions) first.",
}
# Short phrases for "the filter that left out the most therapists: ...".
FILTER_SUMMARIES: dict[str, str] = {
    "not_verified": "licence not yet verified",
    "not_accepting": "not taking new clients",
    "setting_not_offered": "they do not offer this way of meeting",
    "not_licensed_in_state": "not licensed in your state",
    "too_far": "their office is farther than you want to travel",
    "outside_home_radius": "you live outside their home-visit area",
    "language_required": "they do not practise in a language you need",
    "age_group": "they do not see your age group",
    "fee_band_not_accepted": "they do not accept your fee band",
    "reduced_fee_capacity_full": "no reduced-fee sessions left this week",
}


@dataclass(frozen=True)
class MatchView:
    therapist: dict[str, Any]
    score: float
    reasons: tuple[str, ...]
    fee_cents: int
    next_opening: datetime | None  # inside the preferred days and times when there is one
    # The very first opening, when it is sooner than `next_opening` (outside the preferences).
    earlier_opening: datetime | None = None


@dataclass(frozen=True)
class MatchSearch:
    """What a search found, ready for the API and the pages."""

    matches: list[MatchView]
    relaxations: tuple[Relaxation, ...]
    removed_by: dict[str, int]
    most_removed_by: str | None
    fee_band: FeeBand
    time_zone: str
    considered: int  # therapists in place for the setting, before the hard filters


# --- the request --------------------------------------------------------------------------


def _parse_time(value: Any, name: str, errors: dict[str, list[str]]) -> time | None:
    if isinstance(value, time):
        return value
    try:
        return time.fromisoformat(str(value))
    except ValueError:
        errors.setdefault(name, []).append(f"{value!r} is not a time like 18:00.")
        return None


def resolve_band(
    payload: Mapping[str, Any], bands: Sequence[FeeBand], saved_code: str | None
) -> FeeBand:
    """An explicit band code, else income and size, else the saved band, else standard."""
    code = payload.get("fee_band")
    income, size = payload.get("household_income_cents"), payload.get("household_size")
    if code:
        band = find_band(bands, str(code))
        if band is None:
            raise ValidationError(
                "Unknown fee band.", errors={"fee_band": [f"Unknown fee band {code!r}."]}
            )
        return band
    if income is not None or size is not None:
        if income is None or size is None:
            message = "Give both household income and household size, or choose a fee band."
            raise ValidationError(
                message, errors={"household_income_cents": [message], "household_size": [message]}
            )
        return band_for_income(int(income), int(size), bands, current_guideline())
    if saved_code:
        band = find_band(bands, saved_code)
        if band is not None:
            return band
    return standard_band(bands)


def build_request(payload: Mapping[str, Any], *, band: FeeBand, time_zone: str) -> MatchRequest:
    """A validated domain request from the API/page payload (DESIGN.md's shape)."""
    errors: dict[str, list[str]] = {}
    zip_code = payload.get("zip") or None
    location = None
    if zip_code:
        found = find_zip(str(zip_code))
        if found is None:
            errors["zip"] = [f"{zip_code!r} is not a known US ZIP code."]
        else:
            zip_code, location = found.zip, found.point
    windows: list[TimeWindow] = []
    for window in payload.get("preferred_times") or ():
        start = _parse_time(window.get("start"), "preferred_times", errors)
        end = _parse_time(window.get("end"), "preferred_times", errors)
        if start is not None and end is not None:
            windows.append(TimeWindow(int(window.get("weekday", -1)), start, end))
    gender = payload.get("gender")
    zone = payload.get("time_zone")
    zone_problem = time_zone_error(str(zone)) if zone is not None else None
    if zone_problem:
        errors["time_zone"] = [zone_problem]
    if errors:
        raise ValidationError("The search request is not valid.", errors=errors)
    return MatchRequest(
        setting=str(payload.get("setting", "")),
        state=str(payload.get("state", "")),
        fee_band=band,
        time_zone=str(payload.get("time_zone") or time_zone),
        zip=zip_code,
        location=location,
        languages=tuple(
            LanguageWish(str(w["code"]), bool(w.get("required", False)), int(w.get("weight", 1)))
            for w in payload.get("languages") or ()
        ),
        modalities=tuple(m for m in payload.get("modalities") or () if m not in ("", "not_sure")),
        concerns=tuple(payload.get("concerns") or ()),
        cultural_backgrounds=tuple(
            Preference(str(p["code"]), int(p.get("weight", 1)))
            for p in payload.get("cultural_backgrounds") or ()
        ),
        gender=(
            Preference(str(gender["code"]), int(gender.get("weight", 1)))
            if isinstance(gender, Mapping) and gender.get("code")
            else None
        ),
        faith_integrated=int(payload.get("faith_integrated") or 0),
        lgbtq_affirming=int(payload.get("lgbtq_affirming") or 0),
        age_group=payload.get("age_group") or None,
        preferred_times=tuple(windows),
        max_distance_km=float(payload.get("max_distance_km") or 25),
        limit=int(payload.get("limit") or 20),
    )


# --- the use cases ------------------------------------------------------------------------


def _client_profile(client_id: int) -> ClientProfile:
    profile = db.session.scalar(select(ClientProfile).where(ClientProfile.user_id == client_id))
    if profile is None:
        raise NotFoundError("Only clients can save a search.")
    return profile


def _earlier(first: datetime | None, shown: datetime | None) -> datetime | None:
    return first if first is not None and shown is not None and first < shown else None


def find_matches(
    *, request_payload: Mapping[str, Any], client_id: int | None, now: datetime
) -> MatchSearch:
    """Therapists for a request, best first, with reasons and relaxations.

    With a client, what they entered and the band it resolved to are saved on their
    profile; every search is also recorded for equity, without identity (one commit).
    """
    profile = _client_profile(client_id) if client_id is not None else None
    user = db.session.get(User, client_id) if client_id is not None else None
    bands = list_fee_bands()
    band = resolve_band(request_payload, bands, profile.fee_band if profile else None)
    request = build_request(
        request_payload, band=band, time_zone=user.time_zone if user else DEFAULT_TIME_ZONE
    )
    window = min(MAX_LIMIT, request.limit + OPENINGS_EXTRA)
    if request.setting == "online":
        online = None
        shortlist = online_overview(request, bands, now, window)
    else:
        online = online_alternative(request, bands, now)  # counted while the box is read
        shortlist = in_person_overview(request, bands, now, window)
    overview = shortlist.result
    best = [m.candidate for m in overview.matches]
    openings = next_openings_for([c.id for c in best], setting=request.setting, now=now)
    earliest = dict(openings)
    if request.preferred_times:
        # The next opening inside the client's days and times comes first (it is what
        # they asked for); a sooner one outside them is kept as a second line.
        times = PreferredTimes(request)
        preferred = preferred_openings_for(
            [c.id for c in best],
            setting=request.setting,
            now=now,
            fits=times.fits,
            may_fit=times.may_fit,
            may_ever_fit=lambda schedule: may_ever_fit(
                schedule, request.preferred_times, request.zone, request.setting, now
            ),
        )
        openings = {tid: preferred.get(tid) or first for tid, first in openings.items()}
    final = rank(
        [dataclasses.replace(c, next_opening=openings.get(c.id)) for c in best], request, now
    )
    relaxations = list(overview.relaxations)
    if online is not None:
        # Those shown in person who are online in the state pass the online request too
        # (the same filters but the place): online_alternative does not count them again.
        also_online = sum(
            1
            for c in shortlist.candidates
            if c.id in shortlist.online_here and hard_filter(c, request) is None
        )
        more = online(also_online)
        if more is not None:
            # The domain's order: most helpful first, "allow online sessions" first on ties.
            relaxations = sorted([more, *relaxations], key=lambda r: -r.more)
    shapes = therapist_shapes([m.candidate.id for m in final.matches])
    matches = [
        MatchView(
            therapist=shapes[m.candidate.id],
            score=m.score,
            reasons=m.reasons,
            fee_cents=m.fee_cents,
            next_opening=m.next_opening,
            earlier_opening=_earlier(earliest.get(m.candidate.id), m.next_opening),
        )
        for m in final.matches
        if m.candidate.id in shapes
    ]
    if profile is not None:
        profile.intake = _stored_intake(request_payload)
        profile.fee_band = band.code
    considered = shortlist.considered
    equity_recording.record_search(
        request=request,
        result_count=considered - sum(overview.removed_by.values()),
        most_removed_by=overview.most_removed_by,
        client_id=client_id,
        now=now,
    )
    if db.session.get_bind().dialect.name == "postgresql":
        # What a search writes (anonymous statistics, the client's last answers) commits
        # without waiting for the WAL flush (3-8 ms a search): a crash of the database
        # server may forget the last fraction of a second of them, never a booking.
        db.session.execute(text("SET LOCAL synchronous_commit = off"))
    db.session.commit()
    logger.info(
        "matches setting=%s considered=%s removed=%s shown=%s",
        request.setting,
        considered,
        sum(overview.removed_by.values()),
        len(matches),
    )
    return _search(overview, tuple(relaxations), matches, band, request, considered)


def _search(
    overview: MatchResult,
    relaxations: tuple[Relaxation, ...],
    matches: list[MatchView],
    band: FeeBand,
    request: MatchRequest,
    considered: int,
) -> MatchSearch:
    return MatchSearch(
        matches=matches,
        relaxations=relaxations,
        removed_by=dict(overview.removed_by),
        most_removed_by=overview.most_removed_by,
        fee_band=band,
        time_zone=request.time_zone,
        considered=considered,
    )


def _stored_intake(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The request as entered, JSON-safe (times as HH:MM), to prefill the next search."""

    def plain(value: Any) -> Any:
        if isinstance(value, time):
            return value.strftime("%H:%M")
        if isinstance(value, Mapping):
            return {str(k): plain(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [plain(v) for v in value]
        return value

    return {k: plain(v) for k, v in payload.items() if v is not None and k != "limit"}


def get_saved_intake(*, client_id: int) -> dict[str, Any] | None:
    profile = db.session.scalar(select(ClientProfile).where(ClientProfile.user_id == client_id))
    return dict(profile.intake) if profile is not None and profile.intake else None


def find_client_band(*, client_id: int) -> str | None:
    """The client's own band code (shown only to that client)."""
    return db.session.scalar(
        select(ClientProfile.fee_band).where(ClientProfile.user_id == client_id)
    )


# --- booking's checks ---------------------------------------------------------------------


def _client_band(client_id: int, bands: Sequence[FeeBand]) -> FeeBand:
    saved = find_client_band(client_id=client_id)
    band = find_band(bands, saved) if saved else None
    return band or standard_band(bands)


def price_for_client(*, therapist_id: int, client_id: int) -> tuple[int, str]:
    """The therapist's price for the client's band, and the band's code.

    A client who never chose a band pays the standard (top band) fee. 409 when the
    therapist does not accept the band.
    """
    band = _client_band(client_id, list_fee_bands())
    fee = db.session.scalar(
        select(TherapistFee.fee_cents).where(
            TherapistFee.therapist_id == therapist_id, TherapistFee.band_code == band.code
        )
    )
    if fee is None:
        raise ConflictError(
            FILTER_MESSAGES["fee_band_not_accepted"], extra={"reason": "fee_band_not_accepted"}
        )
    return fee, band.code


# The client's band and intake in one read, built once (every booking asks).
_BAND_AND_INTAKE = select(ClientProfile.fee_band, ClientProfile.intake).where(
    ClientProfile.user_id == bindparam("client_id")
)


def check_can_book(
    *, therapist_id: int, client_id: int, setting: str, now: datetime
) -> tuple[int, str]:
    """Raise ConflictError(reason=<filter>) when matching would never show this therapist;
    else the client's price, as `price_for_client` gives it (its band is accepted here).

    The request is the client's saved intake with the booking's setting (else the
    state and ZIP of their account). A client who already has sessions with the
    therapist is not a new client: "not taking new clients" does not stop them.
    """
    user = db.session.get(User, client_id)
    if user is None:
        raise NotFoundError("No such client.")
    bands = list_fee_bands()
    saved = db.session.execute(_BAND_AND_INTAKE, {"client_id": client_id}).first()
    chosen = find_band(bands, saved.fee_band) if saved and saved.fee_band else None
    band = chosen or standard_band(bands)
    intake = dict(saved.intake) if saved and saved.intake else {}
    payload = {"state": user.state, "zip": user.zip, **intake, "setting": setting}
    payload.pop("fee_band", None)
    try:
        request = build_request(payload, band=band, time_zone=user.time_zone)
    except ValidationError as exc:
        raise ConflictError(
            FILTER_MESSAGES["client_location_unknown"],
            extra={"reason": "client_location_unknown", "fields": sorted(exc.errors)},
        ) from None
    found = read_candidate(request, bands, now, therapist_id)
    if not found:
        raise NotFoundError("No such therapist.")
    candidate = to_candidates(found, request)[0]
    failed = hard_filter(candidate, request)
    if failed == "not_accepting" and _is_existing_client(therapist_id, client_id):
        failed = hard_filter(dataclasses.replace(candidate, accepting_new_clients=True), request)
    if failed is not None:
        raise ConflictError(FILTER_MESSAGES[failed], extra={"reason": failed})
    return candidate.fees_by_band[band.code], band.code


def _is_existing_client(therapist_id: int, client_id: int) -> bool:
    return bool(
        db.session.scalar(
            select(
                exists().where(
                    Booking.therapist_id == therapist_id,
                    Booking.client_id == client_id,
                    Booking.status.in_((*ACTIVE_STATUSES, "completed")),
                    is_therapist_time(),
                )
            )
        )
    )


def describe_filter(name: str | None) -> str:
    return FILTER_SUMMARIES.get(name or "", name or "")


def relaxation_summary(search: MatchSearch) -> list[str]:
    """ "7 more if you allow online sessions", for pages."""
    return [f"{r.more} more if you {r.change}" for r in search.relaxations]
