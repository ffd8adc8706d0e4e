"""POST /api/v1/matches and the therapist directory: shapes, errors, privacy of prices."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select

from teletherapy.extensions import db
from teletherapy.models import ClientProfile
from tests.matching_helpers import make_therapist, reseed_fee_tables

THERAPIST_KEYS = {
    "id",
    "display_name",
    "modalities",
    "languages",
    "cultural_backgrounds",
    "age_groups",
    "settings",
    "fee_bands",
    "accepting_new_clients",
    "bio",
}


@pytest.fixture(autouse=True)
def seeded(app: Any) -> None:
    reseed_fee_tables()


@pytest.fixture
def ana(make_user: Any, now: datetime) -> int:
    return make_therapist(
        make_user,
        now,
        "Ana Rodríguez",
        bio="Bilingual CBT.",
        languages=("es", "en"),
        modalities=("cbt", "dbt"),
        cultural_backgrounds=("latin_american",),
        licence_states=("NJ",),
        online_states=("NY", "NJ"),
        office_zip="10027",
        home_zip="10027",
        home_radius_km=10,
    )


DESIGN_REQUEST = {
    "setting": "online",
    "state": "NY",
    "zip": "10027",
    "languages": [{"code": "es", "required": True}],
    "modalities": ["cbt"],
    "concerns": ["anxiety"],
    "cultural_backgrounds": [{"code": "latin_american", "weight": 2}],
    "fee_band": "b",
    "max_distance_km": 25,
    "limit": 20,
}


def test_the_design_request_gets_the_design_shape(client: Any, ana: int) -> None:
    response = client.post("/api/v1/matches", json=DESIGN_REQUEST)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert set(body) >= {"matches", "relaxations"}
    [match] = body["matches"]
    # earlier_opening (added): the first opening when sooner than the preferred-time one.
    assert set(match) == {
        "therapist",
        "score",
        "reasons",
        "fee_cents",
        "next_opening",
        "earlier_opening",
    }
    assert match["earlier_opening"] is None  # no preferred times asked for
    therapist = match["therapist"]
    assert set(therapist) >= THERAPIST_KEYS
    assert therapist["id"] == ana
    assert therapist["display_name"] == "Ana R."
    assert therapist["settings"] == {
        "online": {"states": ["NJ", "NY"]},
        "in_office": {"zip": "10027"},
        "home": {"zip": "10027", "radius_km": 10.0},
    }
    assert therapist["fee_bands"] == ["a", "b", "c", "d"]
    assert match["fee_cents"] == 5000
    assert match["reasons"][:2] == ["Practises in Spanish", "Offers CBT"]
    assert match["next_opening"] is None
    assert body["relaxations"] == []
    assert any(r["phone"] == "1-800-662-4357" for r in body["crisis_resources"])


def test_income_and_size_instead_of_a_band(client: Any, ana: int) -> None:
    request = {
        **{k: v for k, v in DESIGN_REQUEST.items() if k != "fee_band"},
        "household_income_cents": 3_200_000,
        "household_size": 3,
    }
    body = client.post("/api/v1/matches", json=request).get_json()
    assert body["fee_band"]["code"] == "a"
    assert body["matches"][0]["fee_cents"] == 3000


@pytest.mark.parametrize(
    "change,field",
    [
        ({"setting": "boat"}, "setting"),
        ({"state": None}, "state"),
        ({"languages": [{"code": "xx"}]}, "languages.0.code"),
        ({"cultural_backgrounds": [{"code": "latin_american", "weight": 9}]}, None),
        ({"household_income_cents": 100}, "household_size"),
        ({"max_distance_km": 0}, "max_distance_km"),
        ({"limit": 1000}, "limit"),
        ({"zip": "00000"}, "zip"),
        ({"fee_band": "zz"}, "fee_band"),
        ({"setting": "in_office", "zip": None}, "zip"),
    ],
)
def test_bad_requests_are_problem_json_422(
    client: Any, ana: int, change: dict[str, Any], field: str | None
) -> None:
    request = {**DESIGN_REQUEST, **change}
    if change.get("household_income_cents"):
        request.pop("fee_band")
    response = client.post("/api/v1/matches", json=request)
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    errors = response.get_json()["errors"]
    if field is not None:
        assert field in errors, errors
    else:
        assert errors


def test_a_signed_in_client_search_is_saved(
    client: Any, ana: int, make_user: Any, api_token: Any
) -> None:
    user = make_user("client")
    response = client.post("/api/v1/matches", json=DESIGN_REQUEST, headers=api_token(user))
    assert response.status_code == 200
    profile = db.session.scalar(select(ClientProfile).where(ClientProfile.user_id == user.id))
    assert profile is not None and profile.fee_band == "b"
    assert profile.intake is not None and profile.intake["setting"] == "online"


def test_a_therapist_may_search_but_nothing_is_saved(
    client: Any, ana: int, make_user: Any, api_token: Any
) -> None:
    user = make_user("therapist")
    response = client.post("/api/v1/matches", json=DESIGN_REQUEST, headers=api_token(user))
    assert response.status_code == 200


def test_public_profile_has_no_prices_for_anonymous_visitors(client: Any, ana: int) -> None:
    body = client.get(f"/api/v1/therapists/{ana}").get_json()
    assert set(body) >= THERAPIST_KEYS
    assert "fee_cents" not in body and "fee_band" not in body
    assert body["fee_bands"] == ["a", "b", "c", "d"]


def test_a_client_sees_only_the_price_in_their_own_band(
    client: Any, ana: int, make_user: Any, api_token: Any
) -> None:
    user = make_user("client")
    headers = api_token(user)
    client.post("/api/v1/matches", json={**DESIGN_REQUEST, "fee_band": "c"}, headers=headers)
    body = client.get(f"/api/v1/therapists/{ana}", headers=headers).get_json()
    assert body["fee_band"] == "c"
    assert body["fee_cents"] == 8000
    assert "3000" not in str(body) and "15000" not in str(body)


def test_an_unverified_therapist_is_404(client: Any, make_user: Any, now: datetime) -> None:
    hidden = make_therapist(make_user, now, "Hidden Harry", verified=False, online_states=("NY",))
    response = client.get(f"/api/v1/therapists/{hidden}")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    assert client.get("/api/v1/therapists/999999").status_code == 404
    listed = client.get("/api/v1/therapists").get_json()
    assert hidden not in [t["id"] for t in listed["therapists"]]


def test_browse_filters_by_state_setting_language_and_modality(
    client: Any, ana: int, make_user: Any, now: datetime
) -> None:
    other = make_therapist(
        make_user, now, "Olek Nowak", languages=("pl", "en"), modalities=("act",)
    )
    everyone = client.get("/api/v1/therapists").get_json()
    assert [t["id"] for t in everyone["therapists"]] == [ana, other]
    assert everyone["total"] == 2

    def ids(query: str) -> list[int]:
        response = client.get(f"/api/v1/therapists?{query}")
        assert response.status_code == 200
        return [t["id"] for t in response.get_json()["therapists"]]

    assert ids("language=pl") == [other]
    assert ids("modality=cbt") == [ana]
    assert ids("setting=online&state=NJ") == [ana]
    assert ids("setting=in_office") == [ana]
    assert ids("state=NY") == [ana, other]
    assert ids("limit=1&offset=1") == [other]
    assert client.get("/api/v1/therapists?state=ZZ").status_code == 422


def test_matching_routes_are_documented(client: Any) -> None:
    spec = client.get("/api/v1/openapi.json").get_json()
    assert "post" in spec["paths"]["/api/v1/matches"]
    assert "get" in spec["paths"]["/api/v1/therapists/{therapist_id}"]


def test_each_match_therapist_is_exactly_what_the_schema_dumps(
    client: Any, ana: int, make_user: Any, now: datetime
) -> None:
    """The therapist is answered as the service shaped it (web.schemas.Shaped): it must be
    what dumping it through TherapistSchema field by field gives: no key the schema lacks,
    no value it would have changed. Fails if a shape gains a private field."""
    from teletherapy.web.matching.api import TherapistSchema

    make_therapist(make_user, now, "Bo Chen", languages=("zh",), online_states=("NY",))
    body = client.post("/api/v1/matches", json={**DESIGN_REQUEST, "languages": []}).get_json()
    assert len(body["matches"]) == 2
    for match in body["matches"]:
        assert TherapistSchema().dump(match["therapist"]) == match["therapist"]
        assert set(match["therapist"]) <= set(TherapistSchema().fields)
    spec = client.get("/api/v1/openapi.json").get_json()
    therapist = spec["components"]["schemas"]["Match"]["properties"]["therapist"]
    assert therapist == {"$ref": "#/components/schemas/Therapist"}
