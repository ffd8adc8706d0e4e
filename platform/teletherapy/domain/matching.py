"""Matching clients to therapists: hard filters, weighted score, plain reasons, ranking."""

from __future__ import annotations

import dataclasses
import heapq
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from teletherapy.domain import vocabularies as vocab
from teletherapy.domain.geo import distance_km
from teletherapy.domain.matching_types import (
    FILTERS,
    MAX_DISTANCE_KM,
    Cents,
    Codes,
    Match,
    MatchRequest,
    MatchResult,
    Opening,
    Reason,
    Relaxation,
    TherapistCandidate,
)
from teletherapy.domain.money import format_cents

# Short names for reasons ("Offers CBT and DBT"); the vocabulary labels are for forms.
_MODALITY_NAMES: dict[str, str] = {
    "cbt": "CBT",
    "act": "ACT",
    "dbt": "DBT",
    "emdr": "EMDR",
    "psychodynamic": "psychodynamic therapy",
    "psychotherapy": "talk therapy",
    "group": "group therapy",
    "art": "art therapy",
    "music": "music therapy",
    "mindfulness": "mindfulness-based therapy",
    "occupational": "occupational therapy",
    "medication_management": "medication management",
    "family_systems": "family and couples therapy",
    "motivational_interviewing": "motivational interviewing",
}
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


# --- hard filters -------------------------------------------------------------------------


def hard_filter(candidate: TherapistCandidate, request: MatchRequest) -> str | None:
    """The name of the first filter (see FILTERS) that rules the therapist out, else None.

    These are the rules that decide whether a therapist can legally and practically see
    the client at all; booking checks the same function.
    """
    if not candidate.is_verified:
        return "not_verified"
    if not candidate.accepting_new_clients:
        return "not_accepting"
    setting_problem = _setting_filter(candidate, request)
    if setting_problem is not None:
        return setting_problem
    for wish in request.languages:
        if wish.required and wish.code not in candidate.languages:
            return "language_required"
    if request.age_group is not None and request.age_group not in candidate.age_groups:
        return "age_group"
    band = request.fee_band
    if band.code not in candidate.fees_by_band:
        return "fee_band_not_accepted"
    cap = candidate.reduced_fee_weekly_cap
    if band.is_reduced and cap is not None and candidate.reduced_fee_used_this_week >= cap:
        return "reduced_fee_capacity_full"
    return None


def _setting_filter(candidate: TherapistCandidate, request: MatchRequest) -> str | None:
    if request.setting == "online":
        if not candidate.online_states:
            return "setting_not_offered"
        if request.state not in candidate.online_states:
            return "not_licensed_in_state"
        return None
    distance = _distance(candidate, request)
    if request.setting == "in_office":
        if candidate.office is None:
            return "setting_not_offered"
        if distance is None or distance > request.max_distance_km:
            return "too_far"
        return None
    # home: the therapist travels, so their radius counts, and the session takes place in
    # the client's state, so they must hold a licence there.
    if candidate.home is None:
        return "setting_not_offered"
    if request.state not in candidate.online_states and request.state not in (
        candidate.licence_states
    ):
        return "not_licensed_in_state"
    if distance is None or distance > candidate.home.radius_km:
        return "outside_home_radius"
    return None


def _distance(candidate: TherapistCandidate, request: MatchRequest) -> float | None:
    """Kilometres between the client and the place of the requested setting, if in person."""
    if request.location is None:
        return None
    if request.setting == "in_office" and candidate.office is not None:
        return distance_km(request.location, (candidate.office.lat, candidate.office.lon))
    if request.setting == "home" and candidate.home is not None:
        return distance_km(request.location, (candidate.home.lat, candidate.home.lon))
    return None


# --- score and reasons --------------------------------------------------------------------


def score(
    candidate: TherapistCandidate, request: MatchRequest, *, now: datetime | None = None
) -> tuple[float, list[str]]:
    """A 0..1 score from the client's soft preferences and the reasons, in plain words.

    The score is the weighted share of the client's wishes the therapist meets: each
    preferred language, each cultural background, gender, faith and LGBTQ+ wish counts
    with the client's weight; requested modalities, concerns and preferred times count
    once each (by the share met); in-office closeness counts once (1 at the door, 0 at
    the client's maximum distance). With no wishes at all every therapist scores 1.
    Rounded to 3 places so near-equal therapists tie and the spreading tie-breaks apply.
    `now` only adds the date to a next opening a week or more away.
    """
    distance = _distance(candidate, request)
    return _score_value(candidate, request, distance), _reasons(candidate, request, distance, now)


def wish_total(request: MatchRequest) -> float:
    """What a therapist meeting every wish earns (the score's denominator), closeness to
    an office aside: it is the same for every candidate of the request."""
    total = 0.0
    total += sum(wish.weight for wish in request.languages if not wish.required)
    total += (1 if request.modalities else 0) + (1 if request.concerns else 0)
    total += sum(pref.weight for pref in request.cultural_backgrounds)
    total += request.gender.weight if request.gender is not None else 0
    total += request.faith_integrated + request.lgbtq_affirming
    return total + (1 if request.preferred_times else 0)


def _score_value(
    candidate: TherapistCandidate, request: MatchRequest, distance: float | None
) -> float:
    total = wish_total(request)
    earned = 0.0
    for wish in request.languages:
        if not wish.required:
            earned += wish.weight if wish.code in candidate.languages else 0
    if request.modalities:
        offered = sum(_offers_modality(candidate, m) for m in request.modalities)
        earned += offered / len(request.modalities)
    if request.concerns:
        earned += sum(c in candidate.concerns for c in request.concerns) / len(request.concerns)
    for pref in request.cultural_backgrounds:
        earned += pref.weight if pref.code in candidate.cultural_backgrounds else 0
    if request.gender is not None:
        earned += request.gender.weight if candidate.gender == request.gender.code else 0
    earned += request.faith_integrated if candidate.faith_integrated else 0
    earned += request.lgbtq_affirming if candidate.lgbtq_affirming else 0
    if request.preferred_times:
        opening = candidate.next_opening
        earned += 1 if opening is not None and _fits(opening, request) else 0
    if request.setting == "in_office" and distance is not None:
        total += 1
        earned += max(0.0, 1 - distance / request.max_distance_km)
    return 1.0 if total == 0 else round(earned / total, 3)


def _reasons(
    candidate: TherapistCandidate,
    request: MatchRequest,
    distance: float | None,
    now: datetime | None,
) -> list[str]:
    """Plain-English reasons, only for wishes met (never what the therapist lacks)."""
    reasons: list[str] = []
    spoken = [wish.code for wish in request.languages if wish.code in candidate.languages]
    if spoken:
        text = "Practises in " + _join(vocab.label(vocab.LANGUAGES, c) for c in spoken)
        reasons.append(
            Reason("Practises in %(languages)s", text, languages=Codes("LANGUAGES", tuple(spoken)))
        )
    offered = [m for m in request.modalities if _offers_modality(candidate, m)]
    if offered:
        text = "Offers " + _join(_MODALITY_NAMES.get(m, m) for m in offered)
        parts = Codes("MODALITIES", tuple(offered), lower=True)
        reasons.append(Reason("Offers %(modalities)s", text, modalities=parts))
    treated = [c for c in request.concerns if c in candidate.concerns]
    if treated:
        labels = (_lower_first(vocab.label(vocab.CONCERNS, c)) for c in treated)
        parts = Codes("CONCERNS", tuple(treated), lower=True)
        reasons.append(
            Reason("Works with %(concerns)s", "Works with " + _join(labels), concerns=parts)
        )
    shared_codes = [
        pref.code
        for pref in request.cultural_backgrounds
        if pref.weight and pref.code in candidate.cultural_backgrounds
    ]
    if shared_codes:
        shared = [vocab.label(vocab.CULTURAL_BACKGROUNDS, code) for code in shared_codes]
        reasons.append(
            Reason(
                "Shares your cultural background: %(backgrounds)s",
                "Shares your cultural background: " + ", ".join(shared),
                backgrounds=Codes("CULTURAL_BACKGROUNDS", tuple(shared_codes)),
            )
        )
    gender = request.gender
    if gender is not None and gender.weight and candidate.gender == gender.code:
        text = f"{vocab.label(vocab.GENDERS, gender.code)}, as you preferred"
        reasons.append(
            Reason("%(gender)s, as you preferred", text, gender=Codes("GENDERS", (gender.code,)))
        )
    if request.faith_integrated and candidate.faith_integrated:
        reasons.append(Reason("Integrates faith into therapy"))
    if request.lgbtq_affirming and candidate.lgbtq_affirming:
        reasons.append(Reason("LGBTQ+-affirming"))
    if request.age_group is not None and request.age_group in candidate.age_groups:
        text = "Sees " + _lower_first(vocab.label(vocab.AGE_GROUPS, request.age_group))
        parts = Codes("AGE_GROUPS", (request.age_group,), lower=True)
        reasons.append(Reason("Sees %(ages)s", text, ages=parts))
    fee_cents = candidate.fees_by_band.get(request.fee_band.code)
    if fee_cents is not None:
        text = f"{format_cents(fee_cents)} a session in your fee band"
        reasons.append(Reason("%(fee)s a session in your fee band", text, fee=Cents(fee_cents)))
    opening = candidate.next_opening
    if opening is not None:
        if request.preferred_times and _fits(opening, request):
            reasons.append(Reason("Has an opening in your preferred times"))
        text = f"Next opening {_format_opening(opening, request.zone, now)} your time"
        at = Opening(opening, str(request.zone))
        reasons.append(Reason("Next opening %(opening)s your time", text, opening=at))
    if distance is not None:
        reasons.append(_format_distance(distance))
    return reasons


def _offers_modality(candidate: TherapistCandidate, modality: str) -> bool:
    return modality in candidate.modalities or (modality == "group" and candidate.offers_group)


def fits_preferred_times(opening: datetime, request: MatchRequest) -> bool:
    """True when `opening` falls in one of the request's preferred weekly windows."""
    return _fits(opening, request)


def may_fit_preferred_times(start: datetime, end: datetime, request: MatchRequest) -> bool:
    """False only when no instant in [start, end) falls in a preferred window: lets the
    slot engine skip whole availability windows. Wall-clock times are compared with an
    hour of margin on each side, so a change of UTC offset inside the range (DST) can
    never make it say no wrongly; a yes is only a maybe (`fits_preferred_times` decides)."""
    zone = request.zone
    low = start.astimezone(zone).replace(tzinfo=None) - _MARGIN
    high = end.astimezone(zone).replace(tzinfo=None) + _MARGIN
    day = low.date()
    while day <= high.date():
        for w in request.preferred_times:
            if (
                w.weekday == day.weekday()
                and w.start < w.end
                and datetime.combine(day, w.start) < high
                and datetime.combine(day, w.end) > low
            ):
                return True
        day += timedelta(days=1)
    return False


_MARGIN = timedelta(hours=1)


class PreferredTimes:
    """`fits_preferred_times` and `may_fit_preferred_times` for one request, each answer
    remembered by its instants: the slot engine asks the same local midnights and grid
    times for every therapist of a zone (about 35 days x 25 therapists a search)."""

    def __init__(self, request: MatchRequest) -> None:
        self.request = request
        self._fits: dict[datetime, bool] = {}
        self._may_fit: dict[tuple[datetime, datetime], bool] = {}

    def fits(self, opening: datetime) -> bool:
        # Aware datetimes hash and compare by instant, so the zone they carry is moot.
        known = self._fits.get(opening)
        if known is None:
            known = self._fits[opening] = _fits(opening, self.request)
        return known

    def may_fit(self, start: datetime, end: datetime) -> bool:
        known = self._may_fit.get((start, end))
        if known is None:
            known = self._may_fit[(start, end)] = may_fit_preferred_times(start, end, self.request)
        return known


def _fits(opening: datetime, request: MatchRequest) -> bool:
    local = opening.astimezone(request.zone)
    clock = local.time().replace(tzinfo=None)
    return any(
        w.weekday == local.weekday() and w.start <= clock < w.end for w in request.preferred_times
    )


def _format_opening(opening: datetime, zone: ZoneInfo, now: datetime | None) -> str:
    """ "Tue 6:00 pm", or "Tue 9 Dec 6:00 pm" when a week or more away (weekday ambiguous)."""
    local = opening.astimezone(zone)
    hour = local.hour % 12 or 12
    clock = f"{hour}:{local.minute:02d} {'am' if local.hour < 12 else 'pm'}"
    day = _WEEKDAYS[local.weekday()]
    if now is not None and (local.date() - now.astimezone(zone).date()).days >= 7:
        day = f"{day} {local.day} {_MONTHS[local.month - 1]}"
    return f"{day} {clock}"


def _format_distance(distance: float) -> Reason:
    if distance < 1:
        return Reason("Less than 1 km from you")
    return Reason("%(km)s km from you", f"{round(distance)} km from you", km=round(distance))


def _join(items: Iterable[str]) -> str:
    words = list(items)
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def _lower_first(text: str) -> str:
    """ "Anxiety" -> "anxiety", but "ADHD" stays "ADHD"."""
    if len(text) > 1 and text[1].isupper():
        return text
    return text[:1].lower() + text[1:]


# --- ranking ------------------------------------------------------------------------------


def rank(
    candidates: Iterable[TherapistCandidate],
    request: MatchRequest,
    now: datetime,
    *,
    explain: bool = True,
    also: Iterable[tuple[TherapistCandidate, int]] = (),
) -> MatchResult:
    """Filter, score and order the candidates; count removals and what each relaxation adds.

    Order: score (high first), then fewer sessions booked this week (so equally good
    therapists share the referrals), then earlier next opening, then id. The result does
    not depend on the order of `candidates`. Linear in the number of candidates: each
    relaxation re-checks only the candidates it could possibly let through. Without
    `explain` the matches carry no reasons (a first pass that only picks whom to rank).
    `also`: candidates that each stand for `n` therapists a hard filter rules out, alike
    in everything the filters read (as `count_filters` takes them): counted, never shown.
    """
    if now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    ranked: list[tuple[tuple[float, int, bool, datetime, int], TherapistCandidate, float]] = []
    removed: Counter[str] = Counter()
    rejected: list[tuple[str, TherapistCandidate, int]] = []
    for candidate, n in also:
        failed = hard_filter(candidate, request)
        if failed is None:
            raise ValueError(f"therapist {candidate.id} passes every filter: it may be shown")
        removed[failed] += n
        rejected.append((failed, candidate, n))
    for candidate in candidates:
        failed = hard_filter(candidate, request)
        if failed is not None:
            removed[failed] += 1
            rejected.append((failed, candidate, 1))
            continue
        opening = candidate.next_opening
        if opening is not None and opening < now:
            # Stale (loaded before someone booked it): better no opening than a wrong one.
            opening = None
            candidate = dataclasses.replace(candidate, next_opening=None)
        value = _score_value(candidate, request, _distance(candidate, request))
        key = (-value, candidate.booked_this_week, opening is None, opening or now, candidate.id)
        ranked.append((key, candidate, value))
    # Reasons are the costly part, so only the shown few get them.
    top = heapq.nsmallest(request.limit, ranked, key=lambda entry: entry[0])
    matches = tuple(
        Match(
            candidate=candidate,
            score=value,
            reasons=(
                tuple(_reasons(candidate, request, _distance(candidate, request), now))
                if explain
                else ()
            ),
            fee_cents=candidate.fees_by_band[request.fee_band.code],
            next_opening=candidate.next_opening,
        )
        for _, candidate, value in top
    )
    return MatchResult(
        matches=matches,
        removed_by={name: removed[name] for name in FILTERS if removed[name]},
        relaxations=_relaxations(rejected, request),
    )


def count_filters(
    weighted: Iterable[tuple[TherapistCandidate, int]], request: MatchRequest
) -> tuple[dict[str, int], tuple[Relaxation, ...]]:
    """`removed_by` and the relaxations, as `rank` counts them, over candidates that each
    stand for `n` therapists alike in everything the hard filters read (the services
    count therapists by those traits in SQL instead of loading them one by one)."""
    removed: Counter[str] = Counter()
    rejected: list[tuple[str, TherapistCandidate, int]] = []
    for candidate, n in weighted:
        failed = hard_filter(candidate, request)
        if failed is not None and n > 0:
            removed[failed] += n
            rejected.append((failed, candidate, n))
    return (
        {name: removed[name] for name in FILTERS if removed[name]},
        _relaxations(rejected, request),
    )


def _relaxations(
    rejected: Sequence[tuple[str, TherapistCandidate, int]], request: MatchRequest
) -> tuple[Relaxation, ...]:
    """How many more therapists each single loosened constraint would let through.

    A relaxation can only help a therapist whose first failing filter is one it loosens
    (filters before it still fail, filters after it were already passed), so only those
    are re-checked. Fee bands are never relaxed: a client never sees prices outside their
    own band. Nor are licence, verification, accepting or capacity: they are not the
    client's to change.
    """
    options: list[tuple[str, MatchRequest, frozenset[str]]] = []
    setting_filters = frozenset(
        {"setting_not_offered", "not_licensed_in_state", "too_far", "outside_home_radius"}
    )
    if request.setting in ("in_office", "home"):
        online = dataclasses.replace(request, setting="online")
        options.append(("allow online sessions", online, setting_filters))
    if request.setting == "in_office" and request.max_distance_km < MAX_DISTANCE_KM:
        farther = min(request.max_distance_km * 2, MAX_DISTANCE_KM)
        wider = dataclasses.replace(request, max_distance_km=farther)
        options.append((f"travel up to {farther:g} km", wider, frozenset({"too_far"})))
    for wish in request.languages:
        if wish.required:
            languages = tuple(
                dataclasses.replace(w, required=False) if w == wish else w
                for w in request.languages
            )
            name = vocab.label(vocab.LANGUAGES, wish.code)
            options.append(
                (
                    f"make {name} preferred instead of required",
                    dataclasses.replace(request, languages=languages),
                    frozenset({"language_required"}),
                )
            )
    if request.age_group is not None:
        group = _lower_first(vocab.label(vocab.AGE_GROUPS, request.age_group))
        options.append(
            (
                f"include therapists who do not list {group}",
                dataclasses.replace(request, age_group=None),
                frozenset({"age_group"}),
            )
        )
    found: list[Relaxation] = []
    for change, relaxed, lifts in options:
        more = sum(
            n
            for failed, candidate, n in rejected
            if failed in lifts and hard_filter(candidate, relaxed) is None
        )
        if more:
            found.append(Relaxation(change=change, more=more))
    # Most helpful first; the stable sort keeps the fixed order above among equals.
    found.sort(key=lambda r: -r.more)
    return tuple(found)
