"""What a therapist search is about: candidates, the request (validated), the results.

Pure data with its validation; `domain.matching` filters, scores and ranks.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import TypeAlias
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from teletherapy.domain import vocabularies as vocab
from teletherapy.domain.errors import Text, ValidationError
from teletherapy.domain.fees import FeeBand
from teletherapy.domain.geo import LatLon

# Hard filters in the order they are checked; `hard_filter` names the first that fails.
# The setting group yields exactly one of setting_not_offered / not_licensed_in_state /
# too_far / outside_home_radius, depending on the requested setting.
FILTERS: tuple[str, ...] = (
    "not_verified",
    "not_accepting",
    "setting_not_offered",
    "not_licensed_in_state",
    "too_far",
    "outside_home_radius",
    "language_required",
    "age_group",
    "fee_band_not_accepted",
    "reduced_fee_capacity_full",
)

MAX_WEIGHT = 3
MAX_LIMIT = 100
MAX_DISTANCE_KM = 500.0
DEFAULT_MAX_DISTANCE_KM = 25.0
DEFAULT_LIMIT = 20

_Add: TypeAlias = Callable[[str, str], None]  # collects field errors while validating


# --- inputs -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Office:
    lat: float
    lon: float
    zip: str


@dataclass(frozen=True, slots=True)
class HomeVisits:
    """Home visits from a base ZIP, to clients whose ZIP lies within `radius_km`."""

    lat: float
    lon: float
    zip: str
    radius_km: float


@dataclass(frozen=True, slots=True, kw_only=True)
class TherapistCandidate:
    """What matching needs to know of one therapist; the services layer builds these.

    `online_states` are the states where the therapist offers online sessions (licensed
    there); empty means no online sessions. `licence_states` lists any further states of
    licence, which matter for home visits (the session happens in the client's state).
    `fees_by_band` maps each accepted band code to the therapist's price in cents.
    `reduced_fee_weekly_cap` is one cap across all reduced bands (None = no cap).
    `next_opening` is the therapist's next free slot in the requested setting.
    """

    id: int
    display_name: str
    is_verified: bool
    accepting_new_clients: bool
    modalities: tuple[str, ...] = ()
    concerns: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    cultural_backgrounds: tuple[str, ...] = ()
    age_groups: tuple[str, ...] = ()
    gender: str | None = None
    faith_integrated: bool = False
    lgbtq_affirming: bool = False
    offers_group: bool = False
    online_states: tuple[str, ...] = ()
    licence_states: tuple[str, ...] = ()
    office: Office | None = None
    home: HomeVisits | None = None
    fees_by_band: Mapping[str, int] = field(default_factory=dict)
    reduced_fee_weekly_cap: int | None = None
    reduced_fee_used_this_week: int = 0
    booked_this_week: int = 0
    next_opening: datetime | None = None

    def __post_init__(self) -> None:
        if self.next_opening is not None and self.next_opening.utcoffset() is None:
            raise ValueError("next_opening must be timezone-aware")


@dataclass(frozen=True, slots=True)
class LanguageWish:
    code: str
    required: bool = False
    weight: int = 1


@dataclass(frozen=True, slots=True)
class Preference:
    """A soft wish (cultural background, therapist gender) and how much it matters, 0..3."""

    code: str
    weight: int = 1


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """A preferred weekly window in the client's zone; weekday 0 = Monday, end exclusive."""

    weekday: int
    start: time
    end: time


@dataclass(frozen=True, slots=True, kw_only=True)
class MatchRequest:
    """What a client asked for (POST /api/v1/matches), validated on construction.

    The services layer resolves `zip` to `location` and the band code (or household
    income and size) to a `FeeBand`. Empty `modalities` means "not sure". Weights are
    0..3; 0 means "does not matter". `max_distance_km` applies to in-office sessions.
    """

    setting: str
    state: str
    fee_band: FeeBand
    time_zone: str
    zip: str | None = None
    location: LatLon | None = None
    languages: tuple[LanguageWish, ...] = ()
    modalities: tuple[str, ...] = ()
    concerns: tuple[str, ...] = ()
    cultural_backgrounds: tuple[Preference, ...] = ()
    gender: Preference | None = None
    faith_integrated: int = 0
    lgbtq_affirming: int = 0
    age_group: str | None = None
    preferred_times: tuple[TimeWindow, ...] = ()
    max_distance_km: float = DEFAULT_MAX_DISTANCE_KM
    limit: int = DEFAULT_LIMIT

    def __post_init__(self) -> None:
        errors = _request_errors(self)
        if errors:
            raise ValidationError("The search request is not valid.", errors=errors)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)


# --- outputs ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Match:
    candidate: TherapistCandidate
    score: float
    reasons: tuple[str, ...]
    fee_cents: int
    next_opening: datetime | None


@dataclass(frozen=True, slots=True)
class Relaxation:
    """One loosened constraint and how many more therapists it would show."""

    change: str
    more: int


@dataclass(frozen=True, slots=True)
class MatchResult:
    matches: tuple[Match, ...]
    removed_by: Mapping[str, int]
    relaxations: tuple[Relaxation, ...]

    @property
    def most_removed_by(self) -> str | None:
        """The filter that removed the most candidates (earlier filter on a tie)."""
        if not self.removed_by:
            return None
        return max(self.removed_by, key=lambda name: (self.removed_by[name], -FILTERS.index(name)))


# --- request validation -------------------------------------------------------------------


def _request_errors(request: MatchRequest) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}

    def add(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    if request.setting not in vocab.SETTINGS:
        add("setting", Text("Unknown setting %(value)s.", value=repr(request.setting)))
    if request.state not in vocab.US_STATES:
        add("state", Text("Unknown US state %(value)s.", value=repr(request.state)))
    if request.setting in ("in_office", "home") and request.location is None:
        add("zip", "A ZIP code is needed to search in-office sessions or home visits.")
    try:
        ZoneInfo(request.time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        add("time_zone", Text("Unknown time zone %(value)s.", value=repr(request.time_zone)))
    for wish in request.languages:
        _check_code(add, "languages", vocab.LANGUAGES, wish.code)
        _check_weight(add, "languages", wish.weight)
    for code in request.modalities:
        _check_code(add, "modalities", vocab.MODALITIES, code)
    for code in request.concerns:
        _check_code(add, "concerns", vocab.CONCERNS, code)
    for pref in request.cultural_backgrounds:
        _check_code(add, "cultural_backgrounds", vocab.CULTURAL_BACKGROUNDS, pref.code)
        _check_weight(add, "cultural_backgrounds", pref.weight)
    if request.gender is not None:
        _check_code(add, "gender", vocab.GENDERS, request.gender.code)
        _check_weight(add, "gender", request.gender.weight)
    _check_weight(add, "faith_integrated", request.faith_integrated)
    _check_weight(add, "lgbtq_affirming", request.lgbtq_affirming)
    if request.age_group is not None:
        _check_code(add, "age_group", vocab.AGE_GROUPS, request.age_group)
    for window in request.preferred_times:
        if not 0 <= window.weekday <= 6 or not window.start < window.end:
            add("preferred_times", "Each window needs a weekday 0-6 and a start before its end.")
    if not 0 < request.max_distance_km <= MAX_DISTANCE_KM:
        add(
            "max_distance_km",
            Text("Choose a distance above 0 and up to %(km)s km.", km=f"{MAX_DISTANCE_KM:g}"),
        )
    if not 1 <= request.limit <= MAX_LIMIT:
        add("limit", Text("Choose a limit from 1 to %(limit)d.", limit=MAX_LIMIT))
    return errors


def _check_code(add: _Add, name: str, vocabulary: Mapping[str, str], code: str) -> None:
    if code not in vocabulary:
        add(name, Text("Unknown code %(code)s.", code=repr(code)))


def _check_weight(add: _Add, name: str, weight: int) -> None:
    if not 0 <= weight <= MAX_WEIGHT:
        add(name, Text("Weights go from 0 to %(weight)d.", weight=MAX_WEIGHT))


@dataclass(frozen=True, slots=True)
class Codes:
    """Codes of a vocabulary in a reason, named by the vocabulary's attribute ("CONCERNS")."""

    vocabulary: str
    codes: tuple[str, ...]
    lower: bool = False


@dataclass(frozen=True, slots=True)
class Cents:
    cents: int


@dataclass(frozen=True, slots=True)
class Opening:
    at: datetime
    zone: str


class Reason(str):
    """A reason in plain English (the API's text) that keeps its message, with %(name)s
    placeholders, and its parts (Codes, Cents, Opening or a number), so a page can say it
    in the person's language."""

    message: str
    parts: dict[str, object]

    def __new__(cls, message: str, text: str | None = None, **parts: object) -> Reason:
        reason = super().__new__(cls, text if text is not None else message)
        reason.message = message
        reason.parts = parts
        return reason
