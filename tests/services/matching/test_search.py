"""Matching against the database: hand-written tables of therapists and expected results."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, select

from teletherapy.domain.errors import ConflictError, ValidationError
from teletherapy.extensions import db
from teletherapy.models import AvailabilityRule, ClientProfile, TherapistProfile, User
from teletherapy.services.availability.openings import write_openings
from teletherapy.services.matching.candidates import week_bounds
from teletherapy.services.matching.search import (
    check_can_book,
    find_matches,
    price_for_client,
)
from tests.matching_helpers import book, make_therapist, reseed_fee_tables

# Distances from Harlem (10027): 10026 0.98 km, 10001 7.79 km, 10463 8.22 km, 07302 12.80 km.
HARLEM = "10027"


@pytest.fixture(autouse=True)
def fee_tables(app: Any) -> None:
    reseed_fee_tables()


@pytest.fixture
def therapists(make_user: Any, now: datetime) -> dict[str, int]:
    """The table every online test below starts from (all licensed in NY unless said)."""
    t = {
        # Spanish and English, CBT and DBT, online in NY and NJ.
        "ana": make_therapist(
            make_user,
            now,
            "Ana Rodríguez",
            languages=("es", "en"),
            modalities=("cbt", "dbt"),
            concerns=("anxiety",),
            cultural_backgrounds=("latin_american",),
            licence_states=("NJ",),
            online_states=("NY", "NJ"),
            reduced_fee_weekly_cap=5,
        ),
        # English only, CBT, online in NY.
        "cruz": make_therapist(
            make_user, now, "Cruz Lee", modalities=("cbt",), online_states=("NY",)
        ),
        # Licensed in New Jersey only: never shown to a New York client online.
        "nj_only": make_therapist(
            make_user,
            now,
            "Nadia Jones",
            license_state="NJ",
            languages=("es", "en"),
            modalities=("cbt",),
            online_states=("NJ",),
        ),
        # Spanish, but nobody verified the licence yet.
        "unverified": make_therapist(
            make_user,
            now,
            "Uma Vargas",
            verified=False,
            languages=("es",),
            modalities=("cbt",),
            online_states=("NY",),
        ),
        # Spanish, psychodynamic; one reduced-fee session a week, already used.
        "dee": make_therapist(
            make_user,
            now,
            "Dee Santos",
            languages=("es", "en"),
            modalities=("psychodynamic",),
            online_states=("NY",),
            reduced_fee_weekly_cap=1,
        ),
    }
    somebody = make_user("client")
    book(t["dee"], somebody.id, now + timedelta(days=1), fee_band="b")
    return t


def online(**extra: Any) -> dict[str, Any]:
    return {"setting": "online", "state": "NY", "zip": HARLEM, **extra}


def ids(search: Any) -> list[int]:
    return [m.therapist["id"] for m in search.matches]


def test_required_spanish_online_in_ny_with_band_b(therapists: dict[str, int], now: datetime):
    search = find_matches(
        request_payload=online(languages=[{"code": "es", "required": True}], fee_band="b"),
        client_id=None,
        now=now,
    )
    # nj_only: not licensed in NY; unverified: hidden; dee: capacity used up this week;
    # cruz: no Spanish.
    assert ids(search) == [therapists["ana"]]
    assert search.removed_by == {"language_required": 1, "reduced_fee_capacity_full": 1}
    assert search.most_removed_by == "language_required"
    assert [(r.change, r.more) for r in search.relaxations] == [
        ("make Spanish preferred instead of required", 1)
    ]
    match = search.matches[0]
    assert match.fee_cents == 5000
    assert "Practises in Spanish" in match.reasons
    assert "$50 a session in your fee band" in match.reasons


def test_capacity_is_only_for_reduced_bands(therapists: dict[str, int], now: datetime):
    search = find_matches(
        request_payload=online(languages=[{"code": "es", "required": True}], fee_band="d"),
        client_id=None,
        now=now,
    )
    # Dee has booked 1 session this week; Ana none: Ana first on equal scores.
    assert ids(search) == [therapists["ana"], therapists["dee"]]
    assert [m.score for m in search.matches] == [1.0, 1.0]


def test_preferred_language_ranks_instead_of_filtering(therapists: dict[str, int], now: datetime):
    search = find_matches(
        request_payload=online(
            languages=[{"code": "es", "weight": 2}], modalities=["cbt"], fee_band="d"
        ),
        client_id=None,
        now=now,
    )
    # ana: Spanish (2) + CBT (1) = 1.0; dee: Spanish only = 2/3; cruz: CBT only = 1/3.
    assert ids(search) == [therapists["ana"], therapists["dee"], therapists["cruz"]]
    assert [m.score for m in search.matches] == [1.0, 0.667, 0.333]
    assert search.relaxations == ()


def test_not_sure_about_modalities_is_no_preference(therapists: dict[str, int], now: datetime):
    search = find_matches(
        request_payload=online(modalities=["not_sure"], fee_band="d"), client_id=None, now=now
    )
    assert sorted(ids(search)) == sorted([therapists["ana"], therapists["cruz"], therapists["dee"]])
    assert {m.score for m in search.matches} == {1.0}


def test_the_same_request_gives_the_same_answer(therapists: dict[str, int], now: datetime):
    payload = online(languages=[{"code": "es"}], concerns=["anxiety"], fee_band="c")
    first = find_matches(request_payload=payload, client_id=None, now=now)
    second = find_matches(request_payload=payload, client_id=None, now=now)
    assert ids(first) == ids(second)
    assert [m.reasons for m in first.matches] == [m.reasons for m in second.matches]


def test_income_and_household_size_choose_the_band(therapists: dict[str, int], now: datetime):
    # $32,000 for 3 people is 121 % of the 2025 guideline ($26,650): band a.
    search = find_matches(
        request_payload=online(household_income_cents=3_200_000, household_size=3),
        client_id=None,
        now=now,
    )
    assert search.fee_band.code == "a"
    assert {m.fee_cents for m in search.matches} == {3000}


def test_without_a_band_the_standard_fee_applies(therapists: dict[str, int], now: datetime):
    search = find_matches(request_payload=online(), client_id=None, now=now)
    assert search.fee_band.code == "d"


def test_a_band_nobody_accepts_shows_nobody(make_user: Any, now: datetime):
    make_therapist(make_user, now, "Only Full", online_states=("NY",), fees={"d": 12000})
    search = find_matches(request_payload=online(fee_band="a"), client_id=None, now=now)
    assert search.matches == []


@pytest.fixture
def offices(make_user: Any, now: datetime) -> dict[str, int]:
    return {
        "chelsea": make_therapist(make_user, now, "Chelsea Office", office_zip="10001"),
        "riverdale": make_therapist(make_user, now, "Riverdale Office", office_zip="10463"),
        "jersey": make_therapist(
            make_user,
            now,
            "Jersey Office",
            license_state="NJ",
            licence_states=("NY",),
            office_zip="07302",
        ),
        "online": make_therapist(make_user, now, "Online Only", online_states=("NY",)),
    }


def test_office_just_inside_the_distance_is_shown_just_outside_is_not(
    offices: dict[str, int], now: datetime
):
    search = find_matches(
        request_payload={
            "setting": "in_office",
            "state": "NY",
            "zip": HARLEM,
            "max_distance_km": 8,
        },
        client_id=None,
        now=now,
    )
    assert ids(search) == [offices["chelsea"]]
    assert "8 km from you" in search.matches[0].reasons
    # Riverdale (8.2 km) and Jersey City (12.8 km) are too far; one therapist is online only.
    assert search.removed_by == {"too_far": 2}
    assert [(r.change, r.more) for r in search.relaxations] == [
        ("travel up to 16 km", 2),
        ("allow online sessions", 1),
    ]


def test_allow_online_does_not_count_again_those_shown_in_person_who_are_also_online(
    offices: dict[str, int], make_user: Any, now: datetime
):
    """Shown in person and online in the state: already shown, not "more". Online in the
    state but too far for the office: one more if online sessions are allowed."""
    both = make_therapist(make_user, now, "Chelsea Both", office_zip="10001", online_states=("NY",))
    far = make_therapist(
        make_user, now, "Riverdale Both", office_zip="10463", online_states=("NY",)
    )
    search = find_matches(
        request_payload={
            "setting": "in_office",
            "state": "NY",
            "zip": HARLEM,
            "max_distance_km": 8,
        },
        client_id=None,
        now=now,
    )
    assert sorted(ids(search)) == sorted([offices["chelsea"], both])
    assert far not in ids(search)
    # The online-only therapist and the far one who is also online: two more.
    assert ("allow online sessions", 2) in [(r.change, r.more) for r in search.relaxations]


def test_allow_online_counts_only_therapists_who_pass_everything_else(
    offices: dict[str, int], now: datetime
):
    search = find_matches(
        request_payload={
            "setting": "in_office",
            "state": "NY",
            "zip": HARLEM,
            "max_distance_km": 8,
            "languages": [{"code": "es", "required": True}],
        },
        client_id=None,
        now=now,
    )
    # Nobody speaks Spanish: the online-only therapist would not help either.
    assert search.matches == []
    assert [r.change for r in search.relaxations] == ["make Spanish preferred instead of required"]


def test_a_wider_distance_reaches_across_the_river(offices: dict[str, int], now: datetime):
    search = find_matches(
        request_payload={
            "setting": "in_office",
            "state": "NY",
            "zip": HARLEM,
            "max_distance_km": 13,
        },
        client_id=None,
        now=now,
    )
    # Closer offices score higher (1 at the door, 0 at the maximum distance).
    assert ids(search) == [offices["chelsea"], offices["riverdale"], offices["jersey"]]


def test_home_visits_need_the_client_inside_the_radius(make_user: Any, now: datetime):
    near = make_therapist(make_user, now, "Near Home", home_zip="10026", home_radius_km=2)
    short = make_therapist(make_user, now, "Short Reach", home_zip="10001", home_radius_km=5)
    search = find_matches(
        request_payload={"setting": "home", "state": "NY", "zip": HARLEM},
        client_id=None,
        now=now,
    )
    assert ids(search) == [near]
    assert search.removed_by == {"outside_home_radius": 1}
    assert short not in ids(search)


def test_age_group_is_a_hard_filter_with_a_relaxation(make_user: Any, now: datetime):
    kids = make_therapist(
        make_user, now, "Kim Kids", online_states=("NY",), age_groups=("children", "adults")
    )
    make_therapist(make_user, now, "Adam Adults", online_states=("NY",))
    search = find_matches(request_payload=online(age_group="children"), client_id=None, now=now)
    assert ids(search) == [kids]
    assert "Sees children (under 13)" in search.matches[0].reasons
    assert [(r.change, r.more) for r in search.relaxations] == [
        ("include therapists who do not list children (under 13)", 1)
    ]


def test_next_opening_is_in_the_reasons_and_the_match(make_user: Any, now: datetime):
    therapist = make_therapist(make_user, now, "Open Olga", online_states=("NY",))
    for weekday in range(7):
        db.session.add(
            AvailabilityRule(
                therapist_id=therapist,
                weekday=weekday,
                start_time=time(9),
                end_time=time(17),
                setting="online",
            )
        )
    db.session.commit()
    search = find_matches(request_payload=online(), client_id=None, now=now)
    match = search.matches[0]
    assert match.next_opening is not None and match.next_opening > now
    assert any(r.startswith("Next opening ") and r.endswith(" your time") for r in match.reasons)


def test_preferred_times_come_first_and_a_sooner_opening_is_the_second_line(
    make_user: Any, now: datetime
):
    therapist = make_therapist(make_user, now, "Open Olga", online_states=("NY",))
    for weekday in range(7):
        for start, end in ((time(9), time(12)), (time(18), time(21))):
            db.session.add(
                AvailabilityRule(
                    therapist_id=therapist,
                    weekday=weekday,
                    start_time=start,
                    end_time=end,
                    setting="online",
                )
            )
    db.session.commit()
    plain = find_matches(request_payload=online(), client_id=None, now=now).matches[0]
    assert plain.earlier_opening is None
    # Saturday evenings only (New York time): the next Saturday evening first, and the
    # sooner weekday morning as "earlier, outside your preferred times".
    evenings = online(preferred_times=[{"weekday": 5, "start": "18:00", "end": "21:00"}])
    match = find_matches(request_payload=evenings, client_id=None, now=now).matches[0]
    assert match.next_opening is not None and match.earlier_opening is not None
    local = match.next_opening.astimezone(ZoneInfo("America/New_York"))
    assert local.weekday() == 5 and local.hour >= 18
    assert match.earlier_opening == plain.next_opening < match.next_opening


def test_a_client_search_is_saved_with_the_band(
    therapists: dict[str, int], make_user: Any, now: datetime
):
    client = make_user("client")
    payload = online(
        languages=[{"code": "es", "required": True}],
        household_income_cents=5_000_000,
        household_size=2,
        preferred_times=[{"weekday": 1, "start": "18:00", "end": "21:00"}],
    )
    find_matches(request_payload=payload, client_id=client.id, now=now)
    profile = db.session.scalar(select(ClientProfile).where(ClientProfile.user_id == client.id))
    assert profile is not None
    # $50,000 for 2 is 236 % of $21,150: band b.
    assert profile.fee_band == "b"
    assert profile.intake is not None
    assert profile.intake["languages"] == [{"code": "es", "required": True}]
    assert profile.intake["preferred_times"][0]["start"] == "18:00"
    # The next search without a band uses the saved one.
    again = find_matches(request_payload=online(), client_id=client.id, now=now)
    assert again.fee_band.code == "b"


def test_an_anonymous_search_saves_nothing(therapists: dict[str, int], now: datetime):
    before = db.session.scalars(select(ClientProfile.intake)).all()
    find_matches(request_payload=online(fee_band="a"), client_id=None, now=now)
    assert db.session.scalars(select(ClientProfile.intake)).all() == before


@pytest.mark.parametrize(
    "payload,field",
    [
        ({"setting": "online", "state": "NY", "fee_band": "zz"}, "fee_band"),
        ({"setting": "in_office", "state": "NY"}, "zip"),
        ({"setting": "online", "state": "NY", "zip": "00000"}, "zip"),
        ({"setting": "online", "state": "XX"}, "state"),
        ({"setting": "online", "state": "NY", "household_income_cents": 100}, "household_size"),
    ],
)
def test_bad_requests_name_the_field(app: Any, payload: dict[str, Any], field: str, now: datetime):
    with pytest.raises(ValidationError) as caught:
        find_matches(request_payload=payload, client_id=None, now=now)
    assert field in caught.value.errors


@pytest.fixture
def count_queries(db: Any) -> Iterator[Callable[[], int]]:
    statements: list[str] = []

    def record(*args: Any) -> None:
        statements.append(args[2])

    event.listen(db.engine, "before_cursor_execute", record)
    yield lambda: len(statements)
    event.remove(db.engine, "before_cursor_execute", record)


def _search_queries(count_queries: Callable[[], int], now: datetime) -> int:
    start = count_queries()
    search = find_matches(
        request_payload=online(
            languages=[{"code": "es", "required": True}],
            modalities=["cbt"],
            concerns=["anxiety"],
            cultural_backgrounds=[{"code": "latin_american", "weight": 2}],
        ),
        client_id=None,
        now=now,
    )
    assert search.matches
    return count_queries() - start


def test_matching_issues_the_same_number_of_queries_for_3_or_15_candidates(
    make_user: Any, now: datetime, count_queries: Callable[[], int]
):
    def add(count: int) -> None:
        for i in range(count):
            make_therapist(
                make_user,
                now,
                f"Many {i}",
                languages=("es", "en"),
                modalities=("cbt",),
                online_states=("NY",),
            )

    def store_openings() -> None:
        # The commit stores openings at the wall clock; the search runs at the fixture's
        # `now`, so store them as of then (the job's work) to read current rows.
        db.session.commit()
        write_openings(db.session.scalars(select(TherapistProfile.id)), now=now)
        db.session.commit()

    add(3)
    store_openings()
    few = _search_queries(count_queries, now)
    add(12)
    store_openings()
    many = _search_queries(count_queries, now)
    assert few == many
    assert many <= 15


# --- booking's checks -------------------------------------------------------------------


@pytest.fixture
def ny_client(make_user: Any) -> User:
    return make_user("client", state="NY", zip=HARLEM)


def test_price_is_the_therapists_price_in_the_clients_band(
    therapists: dict[str, int], ny_client: User, now: datetime
):
    assert price_for_client(therapist_id=therapists["ana"], client_id=ny_client.id) == (
        15000,
        "d",
    )
    find_matches(request_payload=online(fee_band="b"), client_id=ny_client.id, now=now)
    assert price_for_client(therapist_id=therapists["ana"], client_id=ny_client.id) == (
        5000,
        "b",
    )


def test_no_price_when_the_band_is_not_accepted(make_user: Any, ny_client: User, now: datetime):
    low_only = make_therapist(make_user, now, "Low Fee", online_states=("NY",), fees={"a": 2000})
    # A client who never chose a band pays the standard fee (band d): not accepted here.
    with pytest.raises(ConflictError) as caught:
        price_for_client(therapist_id=low_only, client_id=ny_client.id)
    assert caught.value.extra["reason"] == "fee_band_not_accepted"


@pytest.mark.parametrize(
    "who,setting,reason",
    [
        ("ana", "online", None),
        ("nj_only", "online", "not_licensed_in_state"),
        ("unverified", "online", "not_verified"),
        ("ana", "in_office", "setting_not_offered"),
    ],
)
def test_booking_refuses_what_matching_would_never_show(
    therapists: dict[str, int],
    ny_client: User,
    now: datetime,
    who: str,
    setting: str,
    reason: str | None,
):
    if reason is None:
        check_can_book(
            therapist_id=therapists[who], client_id=ny_client.id, setting=setting, now=now
        )
        return
    with pytest.raises(ConflictError) as caught:
        check_can_book(
            therapist_id=therapists[who], client_id=ny_client.id, setting=setting, now=now
        )
    assert caught.value.extra["reason"] == reason


def test_booking_refuses_a_reduced_band_over_the_weekly_cap(
    therapists: dict[str, int], ny_client: User, now: datetime
):
    find_matches(request_payload=online(fee_band="b"), client_id=ny_client.id, now=now)
    with pytest.raises(ConflictError) as caught:
        check_can_book(
            therapist_id=therapists["dee"], client_id=ny_client.id, setting="online", now=now
        )
    assert caught.value.extra["reason"] == "reduced_fee_capacity_full"
    # Next week the cap is free again, at the price price_for_client gives.
    price = check_can_book(
        therapist_id=therapists["dee"],
        client_id=ny_client.id,
        setting="online",
        now=now + timedelta(days=7),
    )
    assert price == price_for_client(therapist_id=therapists["dee"], client_id=ny_client.id)


def test_an_existing_client_may_book_a_therapist_not_taking_new_clients(
    make_user: Any, ny_client: User, now: datetime
):
    full = make_therapist(
        make_user, now, "Full House", online_states=("NY",), accepting_new_clients=False
    )
    with pytest.raises(ConflictError):
        check_can_book(therapist_id=full, client_id=ny_client.id, setting="online", now=now)
    book(full, ny_client.id, now - timedelta(days=2))
    check_can_book(therapist_id=full, client_id=ny_client.id, setting="online", now=now)


def test_a_client_without_a_state_is_asked_for_it(
    therapists: dict[str, int], make_user: Any, now: datetime
):
    nowhere = make_user("client", state=None, zip=None)
    with pytest.raises(ConflictError) as caught:
        check_can_book(
            therapist_id=therapists["ana"], client_id=nowhere.id, setting="online", now=now
        )
    assert caught.value.extra["reason"] == "client_location_unknown"


def test_the_week_starts_on_monday_in_utc(now: datetime):
    start, end = week_bounds(now)
    assert start.weekday() == 0 and start.hour == 0 and start <= now < end
    assert end - start == timedelta(days=7)
