"""Tests for matching: hand-written tables of clients and therapists, filters, ranking."""

from __future__ import annotations

import dataclasses
import random
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest

from teletherapy.domain.errors import ValidationError
from teletherapy.domain.fees import DEFAULT_FEE_BANDS
from teletherapy.domain.matching import hard_filter, rank, score
from teletherapy.domain.matching_types import (
    HomeVisits,
    LanguageWish,
    MatchRequest,
    MatchResult,
    Office,
    Preference,
    Relaxation,
    TherapistCandidate,
    TimeWindow,
)

BANDS = {band.code: band for band in DEFAULT_FEE_BANDS}
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)  # Tuesday 7:00 am in New York
TUE_6PM_NY = datetime(2026, 12, 1, 23, 0, tzinfo=UTC)
WED_9AM_NY = datetime(2026, 12, 2, 14, 0, tzinfo=UTC)

# ZIP centroids from the `zipcodes` package (tests/gateways/test_zipcodes.py checks them).
# Distances from Harlem (10027): 10026 0.98 km, 10001 7.79 km, 10463 8.22 km, 07302 12.80 km.
ZIP = {
    "10027": (40.8129, -73.9532),  # Harlem, the client
    "10026": (40.8041, -73.9528),  # Central Harlem
    "10001": (40.7508, -73.9961),  # Chelsea: just inside 8 km
    "10463": (40.8793, -73.9103),  # Riverdale, Bronx: just outside 8 km
    "07302": (40.7201, -74.0431),  # Jersey City, NJ
}


def office(zip_code: str) -> Office:
    return Office(*ZIP[zip_code], zip=zip_code)


def home(zip_code: str, radius_km: float) -> HomeVisits:
    return HomeVisits(*ZIP[zip_code], zip=zip_code, radius_km=radius_km)


def therapist(id: int, **fields: Any) -> TherapistCandidate:
    """A therapist who passes every filter of `client()` unless a field says otherwise."""
    base: dict[str, Any] = {
        "display_name": f"Therapist {id}",
        "is_verified": True,
        "accepting_new_clients": True,
        "languages": ("en",),
        "age_groups": ("adults",),
        "online_states": ("NY",),
        "fees_by_band": {"a": 3_000, "b": 5_000, "c": 9_000, "d": 15_000},
        "reduced_fee_weekly_cap": 5,
    }
    return TherapistCandidate(id=id, **(base | fields))


def client(**fields: Any) -> MatchRequest:
    """A client in Harlem, band b, searching online, unless a field says otherwise."""
    base: dict[str, Any] = {
        "setting": "online",
        "state": "NY",
        "zip": "10027",
        "location": ZIP["10027"],
        "fee_band": BANDS["b"],
        "time_zone": "America/New_York",
    }
    return MatchRequest(**(base | fields))


EN_REQUIRED = (LanguageWish("en", required=True),)
ES_REQUIRED = (LanguageWish("es", required=True),)
ES_PREFERRED = (LanguageWish("es", required=False),)

# --- hard filters -------------------------------------------------------------------------

HARD_FILTER_TABLE = [
    # (sentence, therapist fields, client fields, first failing filter)
    ("a therapist who fits passes", {}, {}, None),
    ("an unverified profile is never shown", {"is_verified": False}, {}, "not_verified"),
    ("a full caseload is not shown", {"accepting_new_clients": False}, {}, "not_accepting"),
    (
        "the first failing filter is named",
        {"is_verified": False, "online_states": ("NJ",)},
        {},
        "not_verified",
    ),
    (
        "licensed in neighbouring NJ only cannot see a NY client online",
        {"online_states": ("NJ",)},
        {},
        "not_licensed_in_state",
    ),
    ("no online sessions at all", {"online_states": ()}, {}, "setting_not_offered"),
    (
        "office 7.79 km away is just inside 8 km",
        {"office": office("10001")},
        {"setting": "in_office", "max_distance_km": 8},
        None,
    ),
    (
        "office 8.22 km away is just outside 8 km",
        {"office": office("10463")},
        {"setting": "in_office", "max_distance_km": 8},
        "too_far",
    ),
    (
        "office across the river in NJ is fine for in-office within 15 km",
        {"office": office("07302"), "online_states": ("NJ",)},
        {"setting": "in_office", "max_distance_km": 15},
        None,
    ),
    (
        "no office",
        {"office": None},
        {"setting": "in_office", "max_distance_km": 8},
        "setting_not_offered",
    ),
    ("home visits within the radius", {"home": home("10026", 5)}, {"setting": "home"}, None),
    (
        "client's home 12.8 km from the base is outside a 10 km radius",
        {"home": home("07302", 10)},
        {"setting": "home"},
        "outside_home_radius",
    ),
    (
        "home visits into NY need a NY licence",
        {"home": home("07302", 15), "online_states": ("NJ",)},
        {"setting": "home"},
        "not_licensed_in_state",
    ),
    (
        "a NY licence without online sessions is enough for home visits",
        {"home": home("07302", 15), "online_states": (), "licence_states": ("NJ", "NY")},
        {"setting": "home"},
        None,
    ),
    ("no home visits", {}, {"setting": "home"}, "setting_not_offered"),
    (
        "a required language the therapist lacks",
        {"languages": ("en",)},
        {"languages": ES_REQUIRED},
        "language_required",
    ),
    (
        "a preferred language the therapist lacks is no filter",
        {"languages": ("en",)},
        {"languages": ES_PREFERRED},
        None,
    ),
    (
        "an adolescent client and an adults-only therapist",
        {"age_groups": ("adults",)},
        {"age_group": "adolescents"},
        "age_group",
    ),
    ("no age group given", {"age_groups": ()}, {"age_group": None}, None),
    (
        "band a not accepted",
        {"fees_by_band": {"c": 9_000, "d": 15_000}},
        {"fee_band": BANDS["a"]},
        "fee_band_not_accepted",
    ),
    (
        "band b accepted but this week's reduced-fee places are used up",
        {"reduced_fee_weekly_cap": 3, "reduced_fee_used_this_week": 3},
        {},
        "reduced_fee_capacity_full",
    ),
    (
        "band a counts as reduced too",
        {"reduced_fee_weekly_cap": 3, "reduced_fee_used_this_week": 3},
        {"fee_band": BANDS["a"]},
        "reduced_fee_capacity_full",
    ),
    (
        "a cap of zero means no reduced-fee clients",
        {"reduced_fee_weekly_cap": 0},
        {},
        "reduced_fee_capacity_full",
    ),
    (
        "the full-fee top band is never capped",
        {"reduced_fee_weekly_cap": 3, "reduced_fee_used_this_week": 3},
        {"fee_band": BANDS["d"]},
        None,
    ),
    (
        "no cap means unlimited reduced-fee sessions",
        {"reduced_fee_weekly_cap": None, "reduced_fee_used_this_week": 40},
        {},
        None,
    ),
    (
        "one reduced place left is still a place",
        {"reduced_fee_weekly_cap": 3, "reduced_fee_used_this_week": 2},
        {},
        None,
    ),
]


@pytest.mark.parametrize(
    ("therapist_fields", "client_fields", "expected"),
    [row[1:] for row in HARD_FILTER_TABLE],
    ids=[row[0] for row in HARD_FILTER_TABLE],
)
def test_hard_filter_names_the_first_failing_rule(
    therapist_fields: dict[str, Any], client_fields: dict[str, Any], expected: str | None
) -> None:
    assert hard_filter(therapist(1, **therapist_fields), client(**client_fields)) == expected


# --- ranking: a Spanish-speaking client in Harlem, online ---------------------------------

SPANISH_CLIENT = client(
    languages=(LanguageWish("en", required=True), LanguageWish("es")),
    modalities=("cbt",),
    concerns=("anxiety",),
    cultural_backgrounds=(Preference("latin_american", weight=2),),
)
# Weights: es 1 + modalities 1 + concerns 1 + latin_american 2 = 5.
SPANISH_TABLE = [
    therapist(  # 5/5
        1,
        display_name="Ana",
        languages=("en", "es"),
        modalities=("cbt", "dbt"),
        concerns=("anxiety", "trauma"),
        cultural_backgrounds=("latin_american",),
        fees_by_band={"b": 4_000},
        next_opening=TUE_6PM_NY,
    ),
    therapist(
        2, display_name="Ben", modalities=("cbt",), concerns=("anxiety",), booked_this_week=5
    ),
    therapist(  # 3/5: Spanish and shared background, not CBT, not anxiety
        3,
        display_name="Carla",
        languages=("en", "es"),
        modalities=("act",),
        concerns=("depression",),
        cultural_backgrounds=("latin_american",),
    ),
    therapist(  # 4/5
        4,
        display_name="Dev",
        modalities=("cbt",),
        concerns=("anxiety",),
        cultural_backgrounds=("latin_american",),
    ),
    therapist(5, display_name="Eve", languages=("es",)),  # no English: filtered
    therapist(6, display_name="Femi", online_states=("NJ",)),  # NJ only: filtered
    therapist(
        7, display_name="Gus", modalities=("cbt",), concerns=("anxiety",), booked_this_week=2
    ),
    therapist(8, display_name="Hana", languages=("en", "es"), is_verified=False),
]


def test_spanish_speaking_client_gets_the_hand_ranked_order() -> None:
    result = rank(SPANISH_TABLE, SPANISH_CLIENT, NOW)
    assert [(m.candidate.display_name, m.score) for m in result.matches] == [
        ("Ana", 1.0),
        ("Dev", 0.8),
        ("Carla", 0.6),
        ("Gus", 0.4),  # ties with Ben: fewer sessions booked this week goes first
        ("Ben", 0.4),
    ]
    assert result.removed_by == {
        "not_verified": 1,
        "not_licensed_in_state": 1,
        "language_required": 1,
    }
    assert result.relaxations == (Relaxation("make English preferred instead of required", 1),)


def test_reasons_are_plain_words_in_the_clients_zone() -> None:
    best = rank(SPANISH_TABLE, SPANISH_CLIENT, NOW).matches[0]
    assert best.reasons == (
        "Practises in English and Spanish",
        "Offers CBT",
        "Works with anxiety",
        "Shares your cultural background: Latin American / Hispanic",
        "$40 a session in your fee band",
        "Next opening Tue 6:00 pm your time",
    )
    assert best.fee_cents == 4_000
    assert best.next_opening == TUE_6PM_NY


def test_without_explaining_the_ranking_is_the_same_without_reasons() -> None:
    """A first pass (the services' shortlists) ranks without writing reasons."""
    explained = rank(SPANISH_TABLE, SPANISH_CLIENT, NOW)
    quick = rank(SPANISH_TABLE, SPANISH_CLIENT, NOW, explain=False)
    assert [m.reasons for m in quick.matches] == [()] * len(explained.matches)
    assert [dataclasses.replace(m, reasons=()) for m in explained.matches] == list(quick.matches)
    assert (quick.removed_by, quick.relaxations) == (explained.removed_by, explained.relaxations)


def test_a_client_sees_only_the_price_of_their_own_band() -> None:
    match = rank([therapist(1)], client(fee_band=BANDS["c"]), NOW).matches[0]
    assert match.fee_cents == 9_000
    prices = [reason for reason in match.reasons if "$" in reason]
    assert prices == ["$90 a session in your fee band"]


def test_ranking_does_not_depend_on_the_order_of_candidates() -> None:
    expected = rank(SPANISH_TABLE, SPANISH_CLIENT, NOW)
    shuffler = random.Random(20261201)
    for _ in range(20):
        shuffled = list(SPANISH_TABLE)
        shuffler.shuffle(shuffled)
        assert rank(shuffled, SPANISH_CLIENT, NOW) == expected


def test_limit_cuts_the_list_but_not_the_counts() -> None:
    result = rank(SPANISH_TABLE, client(languages=SPANISH_CLIENT.languages, limit=2), NOW)
    assert [m.candidate.id for m in result.matches] == [1, 3]  # the two Spanish speakers
    assert sum(result.removed_by.values()) == 3


# --- ties are spread ----------------------------------------------------------------------


def test_equal_therapists_are_spread_by_bookings_then_opening_then_id() -> None:
    candidates = [
        therapist(10, booked_this_week=3, next_opening=TUE_6PM_NY),
        therapist(11, booked_this_week=1, next_opening=None),
        therapist(12, booked_this_week=1, next_opening=WED_9AM_NY),
        therapist(13, booked_this_week=1, next_opening=TUE_6PM_NY),
        therapist(14, booked_this_week=0, next_opening=None),
        therapist(9, booked_this_week=1, next_opening=TUE_6PM_NY),
    ]
    result = rank(candidates, client(), NOW)
    assert {m.score for m in result.matches} == {1.0}  # no wishes: all equally good
    assert [m.candidate.id for m in result.matches] == [14, 9, 13, 12, 11, 10]


# --- in-office: distances from real ZIP centroids ----------------------------------------


def test_in_office_distance_edges_and_relaxations() -> None:
    candidates = [
        therapist(1, office=office("10026")),  # 0.98 km
        therapist(2, office=office("10001")),  # 7.79 km: just inside
        therapist(3, office=office("10463")),  # 8.22 km: just outside, also online in NY
        therapist(4, office=office("07302"), online_states=("NJ",)),  # 12.80 km, NJ licence
        therapist(5),  # online only
    ]
    result = rank(candidates, client(setting="in_office", max_distance_km=8), NOW)
    assert [(m.candidate.id, m.score) for m in result.matches] == [(1, 0.878), (2, 0.026)]
    assert "Less than 1 km from you" in result.matches[0].reasons
    assert "8 km from you" in result.matches[1].reasons
    assert result.removed_by == {"setting_not_offered": 1, "too_far": 2}
    assert result.most_removed_by == "too_far"
    assert result.relaxations == (
        # 3 (licensed in NY) and 5; not 4, whose online licence is NJ only
        Relaxation("allow online sessions", 2),
        Relaxation("travel up to 16 km", 2),  # 3 and 4
    )


def test_home_visit_reasons_give_the_distance_without_scoring_it() -> None:
    value, reasons = score(therapist(1, home=home("10026", 5)), client(setting="home"))
    assert value == 1.0
    assert reasons == ["$50 a session in your fee band", "Less than 1 km from you"]


def test_online_search_offers_no_online_relaxation() -> None:
    result = rank([therapist(1, online_states=("NJ",))], client(), NOW)
    assert result.matches == ()
    assert result.relaxations == ()
    assert result.most_removed_by == "not_licensed_in_state"


# --- language preferred versus required ---------------------------------------------------

LANGUAGE_TABLE = [
    therapist(1, languages=("en",)),
    therapist(2, languages=("es", "en")),
    therapist(3, languages=("es",)),
]


@pytest.mark.parametrize(
    ("wishes", "expected_ids", "expected_scores"),
    [
        (ES_REQUIRED, [2, 3], [1.0, 1.0]),  # both speak Spanish; 2 by id
        (ES_PREFERRED, [2, 3, 1], [1.0, 1.0, 0.0]),  # English-only stays, last
        (EN_REQUIRED + ES_PREFERRED, [2, 1], [1.0, 0.0]),
        (EN_REQUIRED + ES_REQUIRED, [2], [1.0]),
    ],
)
def test_required_language_filters_and_preferred_language_ranks(
    wishes: tuple[LanguageWish, ...], expected_ids: list[int], expected_scores: list[float]
) -> None:
    result = rank(LANGUAGE_TABLE, client(languages=wishes), NOW)
    assert [m.candidate.id for m in result.matches] == expected_ids
    assert [m.score for m in result.matches] == expected_scores


def test_each_required_language_has_its_own_relaxation() -> None:
    result = rank(LANGUAGE_TABLE, client(languages=EN_REQUIRED + ES_REQUIRED), NOW)
    assert result.relaxations == (
        Relaxation("make English preferred instead of required", 1),
        Relaxation("make Spanish preferred instead of required", 1),
    )


# --- age group ----------------------------------------------------------------------------


def test_age_group_filters_and_can_be_relaxed() -> None:
    candidates = [
        therapist(1, age_groups=("adolescents", "adults")),
        therapist(2, age_groups=("adults",)),
        therapist(3, age_groups=("children",), is_verified=False),
    ]
    result = rank(candidates, client(age_group="adolescents"), NOW)
    assert [m.candidate.id for m in result.matches] == [1]
    assert "Sees adolescents (13-17)" in result.matches[0].reasons
    assert result.removed_by == {"not_verified": 1, "age_group": 1}
    assert result.relaxations == (
        Relaxation("include therapists who do not list adolescents (13-17)", 1),
    )


# --- capacity -----------------------------------------------------------------------------


def test_capacity_used_up_hides_a_therapist_only_from_reduced_bands() -> None:
    full = therapist(1, reduced_fee_weekly_cap=4, reduced_fee_used_this_week=4)
    open_ = therapist(2, reduced_fee_weekly_cap=4, reduced_fee_used_this_week=3)
    reduced = rank([full, open_], client(fee_band=BANDS["b"]), NOW)
    assert [m.candidate.id for m in reduced.matches] == [2]
    assert reduced.removed_by == {"reduced_fee_capacity_full": 1}
    assert reduced.relaxations == ()  # capacity is not the client's to relax
    standard = rank([full, open_], client(fee_band=BANDS["d"]), NOW)
    assert [m.candidate.id for m in standard.matches] == [1, 2]


# --- weights ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("gender_weight", "expected_ids", "expected_scores"),
    [
        (3, [1, 2], [0.75, 0.25]),  # gender 3 of 4 outweighs CBT 1 of 4
        (1, [1, 2], [0.5, 0.5]),  # equal: id decides
        (0, [2, 1], [1.0, 0.0]),  # "does not matter"
    ],
)
def test_client_weights_decide_between_gender_and_modality(
    gender_weight: int, expected_ids: list[int], expected_scores: list[float]
) -> None:
    candidates = [
        therapist(1, gender="woman", modalities=("psychodynamic",)),
        therapist(2, gender="man", modalities=("cbt",)),
    ]
    request = client(modalities=("cbt",), gender=Preference("woman", gender_weight))
    result = rank(candidates, request, NOW)
    assert [m.candidate.id for m in result.matches] == expected_ids
    assert [m.score for m in result.matches] == expected_scores


def test_faith_and_lgbtq_wishes_score_with_their_weights() -> None:
    request = client(faith_integrated=1, lgbtq_affirming=3)
    both, reasons = score(therapist(1, faith_integrated=True, lgbtq_affirming=True), request)
    assert (both, reasons[:2]) == (1.0, ["Integrates faith into therapy", "LGBTQ+-affirming"])
    assert score(therapist(2, lgbtq_affirming=True), request)[0] == 0.75
    assert score(therapist(3, faith_integrated=True), request)[0] == 0.25


def test_modalities_and_concerns_count_by_the_share_met() -> None:
    request = client(modalities=("cbt", "dbt", "group"), concerns=("adhd", "grief"))
    value, reasons = score(
        therapist(1, modalities=("dbt",), offers_group=True, concerns=("adhd",)), request
    )
    assert value == round((2 / 3 + 1 / 2) / 2, 3)
    assert reasons[:2] == ["Offers DBT and group therapy", "Works with ADHD"]


def test_not_sure_about_modality_is_no_criterion() -> None:
    assert score(therapist(1, modalities=()), client(modalities=()))[0] == 1.0


# --- next opening and preferred times -----------------------------------------------------


def utc(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    ("opening", "time_zone", "text"),
    [
        (TUE_6PM_NY, "America/New_York", "Tue 6:00 pm"),
        (TUE_6PM_NY, "America/Los_Angeles", "Tue 3:00 pm"),
        (TUE_6PM_NY, "Asia/Kolkata", "Wed 4:30 am"),
        (TUE_6PM_NY, "Europe/London", "Tue 11:00 pm"),
        (utc(1, 17, 5), "America/New_York", "Tue 12:05 pm"),
        (utc(2, 5), "America/New_York", "Wed 12:00 am"),
        (utc(7, 23), "America/New_York", "Mon 6:00 pm"),
        # a week or more ahead: the weekday alone would be ambiguous
        (utc(8, 23), "America/New_York", "Tue 8 Dec 6:00 pm"),
        (utc(15, 23), "America/New_York", "Tue 15 Dec 6:00 pm"),
    ],
)
def test_next_opening_is_written_in_the_clients_zone(
    opening: datetime, time_zone: str, text: str
) -> None:
    match = rank([therapist(1, next_opening=opening)], client(time_zone=time_zone), NOW).matches[0]
    assert match.reasons[-1] == f"Next opening {text} your time"


def test_next_opening_after_the_dst_change_uses_summer_time() -> None:
    # 2027-03-14 is the second Sunday of March: New York is UTC-4 from then on.
    march_now = datetime(2027, 3, 12, 12, 0, tzinfo=UTC)
    before = datetime(2027, 3, 13, 23, 0, tzinfo=UTC)  # Sat 6 pm EST
    after = datetime(2027, 3, 15, 22, 0, tzinfo=UTC)  # Mon 6 pm EDT
    candidates = [therapist(1, next_opening=before), therapist(2, next_opening=after)]
    result = rank(candidates, client(), march_now)
    assert [m.reasons[-1] for m in result.matches] == [
        "Next opening Sat 6:00 pm your time",
        "Next opening Mon 6:00 pm your time",
    ]


def test_an_opening_already_past_is_not_shown() -> None:
    stale = therapist(1, next_opening=datetime(2026, 12, 1, 11, 0, tzinfo=UTC))
    match = rank([stale], client(), NOW).matches[0]
    assert match.next_opening is None
    assert not any(reason.startswith("Next opening") for reason in match.reasons)


def test_an_opening_in_the_preferred_times_scores_higher() -> None:
    evenings = (TimeWindow(weekday=1, start=time(17, 0), end=time(20, 0)),)  # Tue 5-8 pm
    candidates = [
        therapist(1, next_opening=WED_9AM_NY),
        therapist(2, next_opening=TUE_6PM_NY),
        therapist(3, next_opening=None),
    ]
    result = rank(candidates, client(preferred_times=evenings), NOW)
    assert [(m.candidate.id, m.score) for m in result.matches] == [(2, 1.0), (1, 0.0), (3, 0.0)]
    assert "Has an opening in your preferred times" in result.matches[0].reasons


# --- result summary and validation ---------------------------------------------------------


def test_most_removed_by_prefers_the_earlier_filter_on_a_tie() -> None:
    result = MatchResult(
        matches=(), removed_by={"not_accepting": 2, "too_far": 2, "age_group": 1}, relaxations=()
    )
    assert result.most_removed_by == "not_accepting"
    assert MatchResult(matches=(), removed_by={}, relaxations=()).most_removed_by is None


def test_empty_candidate_list_gives_an_empty_result() -> None:
    assert rank([], client(), NOW) == MatchResult(matches=(), removed_by={}, relaxations=())


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"setting": "telepathy"}, "setting"),
        ({"state": "XX"}, "state"),
        ({"setting": "in_office", "location": None}, "zip"),
        ({"time_zone": "Mars/Olympus"}, "time_zone"),
        ({"languages": (LanguageWish("xx"),)}, "languages"),
        ({"modalities": ("hypnosis",)}, "modalities"),
        ({"concerns": ("boredom",)}, "concerns"),
        ({"cultural_backgrounds": (Preference("latin_american", 4),)}, "cultural_backgrounds"),
        ({"gender": Preference("woman", -1)}, "gender"),
        ({"faith_integrated": 9}, "faith_integrated"),
        ({"age_group": "toddlers"}, "age_group"),
        ({"preferred_times": (TimeWindow(7, time(9), time(10)),)}, "preferred_times"),
        ({"preferred_times": (TimeWindow(1, time(10), time(9)),)}, "preferred_times"),
        ({"max_distance_km": 0}, "max_distance_km"),
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
    ],
)
def test_an_invalid_request_names_the_field(fields: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        client(**fields)
    assert list(caught.value.errors) == [field]


def test_online_search_needs_no_zip() -> None:
    assert client(zip=None, location=None).location is None


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError):
        therapist(1, next_opening=datetime(2026, 12, 1, 18, 0))
    with pytest.raises(ValueError):
        rank([], client(), datetime(2026, 12, 1, 12, 0))


def random_therapists(seed: int, count: int) -> list[TherapistCandidate]:
    rng = random.Random(seed)
    zips = list(ZIP)
    return [
        therapist(
            i,
            is_verified=rng.random() < 0.9,
            accepting_new_clients=rng.random() < 0.9,
            languages=tuple(rng.sample(["en", "es", "zh", "ht"], rng.randint(1, 3))),
            age_groups=tuple(rng.sample(["children", "adolescents", "adults"], rng.randint(1, 2))),
            modalities=tuple(rng.sample(["cbt", "dbt", "act", "emdr"], rng.randint(0, 3))),
            online_states=tuple(rng.sample(["NY", "NJ", "CT"], rng.randint(0, 2))),
            office=office(rng.choice(zips)) if rng.random() < 0.7 else None,
            fees_by_band=dict.fromkeys(rng.sample(["a", "b", "c", "d"], rng.randint(1, 4)), 5_000),
            reduced_fee_used_this_week=rng.randint(0, 6),
            booked_this_week=rng.randint(0, 3),
            next_opening=utc(rng.randint(1, 20), rng.randint(0, 23))
            if rng.random() < 0.8
            else None,
        )
        for i in range(1, count + 1)
    ]


def test_relaxation_counts_equal_a_brute_force_rerun() -> None:
    request = client(
        setting="in_office",
        max_distance_km=8,
        languages=(LanguageWish("en", required=True), LanguageWish("es", required=True)),
        age_group="adults",
        modalities=("cbt",),
    )
    candidates = random_therapists(seed=4, count=400)
    relaxed = {
        "allow online sessions": dataclasses.replace(request, setting="online"),
        "travel up to 16 km": dataclasses.replace(request, max_distance_km=16),
        "make English preferred instead of required": dataclasses.replace(
            request, languages=(LanguageWish("en"), LanguageWish("es", required=True))
        ),
        "make Spanish preferred instead of required": dataclasses.replace(
            request, languages=(LanguageWish("en", required=True), LanguageWish("es"))
        ),
        "include therapists who do not list adults": dataclasses.replace(request, age_group=None),
    }
    rejected = [c for c in candidates if hard_filter(c, request) is not None]
    brute = {
        change: sum(hard_filter(c, looser) is None for c in rejected)
        for change, looser in relaxed.items()
    }
    result = rank(candidates, request, NOW)
    assert {r.change: r.more for r in result.relaxations} == {k: v for k, v in brute.items() if v}
    assert len(result.relaxations) >= 3  # the table exercises most of them
    assert len(result.matches) + sum(result.removed_by.values()) == 400


def test_ranking_thousands_of_candidates_is_deterministic() -> None:
    candidates = random_therapists(seed=7, count=3_000)
    request = client(languages=ES_PREFERRED, modalities=("cbt", "emdr"), limit=50)
    first = rank(candidates, request, NOW)
    second = rank(list(reversed(candidates)), request, NOW)
    assert first == second
    keys = [
        (-m.score, m.candidate.booked_this_week, m.next_opening is None, m.candidate.id)
        for m in first.matches
    ]
    assert [k[:3] for k in keys] == sorted(k[:3] for k in keys)


def _weekly_schedule(zone: str, rng: random.Random) -> Any:
    from teletherapy.domain.availability import AvailabilitySettings, WeeklyRule
    from teletherapy.domain.slots import Schedule

    rules = []
    for weekday in range(7):
        start = rng.randint(0, 20)
        rules.append(WeeklyRule(weekday, time(start), time(rng.randint(start + 1, 23)), "online"))
    settings = AvailabilitySettings(zone, min_notice_hours=rng.choice((0, 24)), horizon_days=40)
    return Schedule(settings=settings, rules=rules)


@pytest.mark.parametrize(
    "now",
    [
        datetime(2026, 10, 20, 9, 0, tzinfo=UTC),  # Europe then the US fall back within the horizon
        datetime(2026, 3, 1, 9, 0, tzinfo=UTC),  # spring forward within the horizon
        NOW,
    ],
)
def test_skipping_windows_that_cannot_fit_the_preferred_times_finds_the_same_opening(
    now: datetime,
) -> None:
    """may_fit_preferred_times lets the slot engine skip whole windows: the first fitting
    opening must be the one found by checking every slot, in any zones, across DST."""
    from teletherapy.domain.matching import fits_preferred_times, may_fit_preferred_times
    from teletherapy.domain.slots import first_opening_where

    rng = random.Random(now.toordinal())
    zones = ("America/New_York", "America/Los_Angeles", "Europe/London", "Asia/Kolkata")
    for _ in range(60):
        windows = []
        for _ in range(rng.randint(1, 3)):
            start = rng.randint(0, 22 * 60)
            end = rng.randint(start + 1, 24 * 60 - 1)
            windows.append(
                TimeWindow(rng.randint(0, 6), time(*divmod(start, 60)), time(*divmod(end, 60)))
            )
        request = client(preferred_times=tuple(windows), time_zone=rng.choice(zones))
        schedule = _weekly_schedule(rng.choice(zones), rng)
        calls: list[datetime] = []

        def fits(
            start: datetime, request: MatchRequest = request, calls: list[datetime] = calls
        ) -> bool:
            calls.append(start)
            return fits_preferred_times(start, request)

        every = first_opening_where(schedule, now, fits, "online")
        checked = len(calls)
        calls.clear()
        skipping = first_opening_where(
            schedule,
            now,
            fits,
            "online",
            may_fit=lambda a, b, request=request: may_fit_preferred_times(a, b, request),
        )
        assert skipping == every, (request.preferred_times, request.time_zone, schedule)
        assert len(calls) <= checked


def test_a_window_on_another_day_cannot_fit_and_is_not_laid_out() -> None:
    from teletherapy.domain.matching import may_fit_preferred_times
    from teletherapy.domain.slots import first_opening_where

    wednesday_evening = client(preferred_times=(TimeWindow(2, time(17), time(21)),))
    monday_morning = datetime(2026, 12, 7, 14, 0, tzinfo=UTC)  # 9:00 in New York
    assert not may_fit_preferred_times(
        monday_morning, monday_morning + timedelta(hours=4), wednesday_evening
    )
    wednesday = datetime(2026, 12, 9, 22, 0, tzinfo=UTC)  # 17:00 in New York
    assert may_fit_preferred_times(wednesday, wednesday + timedelta(hours=1), wednesday_evening)
    # An engine told that no window can fit never lays (or checks) a single slot.
    checked: list[datetime] = []
    schedule = _weekly_schedule("America/New_York", random.Random(1))
    found = first_opening_where(
        schedule, NOW, lambda s: checked.append(s) is None, "online", may_fit=lambda a, b: False
    )
    assert found is None and checked == []


def test_preferred_times_remembers_each_answer_and_gives_the_plain_functions_answers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One search asks the same local midnights and grid times for every therapist of a
    zone: PreferredTimes answers as the plain functions do, computing each question once
    (whatever zone the instants carry: the same instant is the same question)."""
    from zoneinfo import ZoneInfo

    from teletherapy.domain import matching
    from teletherapy.domain.matching import (
        PreferredTimes,
        fits_preferred_times,
        may_fit_preferred_times,
    )

    request = client(
        preferred_times=(TimeWindow(2, time(17), time(21)), TimeWindow(5, time(9), time(10))),
        time_zone="America/Los_Angeles",
    )
    times = PreferredTimes(request)
    rng = random.Random(14)
    for _ in range(300):
        start = NOW + timedelta(minutes=30 * rng.randint(0, 2 * 24 * 14))
        end = start + timedelta(minutes=30 * rng.randint(1, 48))
        assert times.fits(start) == fits_preferred_times(start, request)
        assert times.may_fit(start, end) == may_fit_preferred_times(start, end, request)
    fits_calls: list[datetime] = []
    may_fit_calls: list[datetime] = []
    plain_fits, plain_may_fit = matching._fits, matching.may_fit_preferred_times
    monkeypatch.setattr(
        matching, "_fits", lambda at, r: fits_calls.append(at) is None and plain_fits(at, r)
    )
    monkeypatch.setattr(
        matching,
        "may_fit_preferred_times",
        lambda a, b, r: may_fit_calls.append(a) is None and plain_may_fit(a, b, r),
    )
    fresh = PreferredTimes(request)
    wednesday = datetime(2026, 12, 10, 1, 0, tzinfo=UTC)  # Wednesday 17:00 in Los Angeles
    same_instant = wednesday.astimezone(ZoneInfo("Asia/Kolkata"))
    assert fresh.fits(wednesday) and fresh.fits(same_instant) and fresh.fits(wednesday)
    hour = timedelta(hours=1)
    assert fresh.may_fit(wednesday, wednesday + hour)
    assert fresh.may_fit(same_instant, same_instant + hour)
    assert not fresh.may_fit(wednesday + 6 * hour, wednesday + 7 * hour)
    assert not fresh.may_fit(wednesday + 6 * hour, wednesday + 7 * hour)
    assert len(fits_calls) == 1 and len(may_fit_calls) == 2
