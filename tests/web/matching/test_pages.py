"""Pages: the intake form and results, public profiles, the profile editor, admin pages."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select

from teletherapy.extensions import db
from teletherapy.models import FeeBandRow, PovertyGuidelineRow, TherapistProfile
from teletherapy.services.matching.profiles import get_therapist_details
from tests.matching_helpers import make_therapist, reseed_fee_tables


@pytest.fixture(autouse=True)
def seeded(app: Any) -> None:
    reseed_fee_tables()


@pytest.fixture
def ana(make_user: Any, now: datetime) -> int:
    return make_therapist(
        make_user,
        now,
        "Ana Rodríguez",
        languages=("es", "en"),
        modalities=("cbt",),
        online_states=("NY",),
    )


def search_form(**fields: str) -> dict[str, str]:
    return {"setting": "online", "state": "NY", "zip": "10027", "fee_band": "b", **fields}


def test_home_page_find_button_goes_to_the_intake(client: Any) -> None:
    html = client.get("/").get_data(as_text=True)
    assert 'class="button primary" href="/find"' in html


def test_the_intake_form_has_labelled_fields(client: Any) -> None:
    response = client.get("/find")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    for label in ("Your state", "Your ZIP code", "Not sure yet", "Your fee band", "Language"):
        assert label in html
    assert 'for="state"' in html


def test_an_anonymous_search_shows_results_with_reasons_and_links(client: Any, ana: int) -> None:
    response = client.post(
        "/find", data=search_form(**{"languages-0-code": "es", "languages-0-need": "required"})
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Ana R." in html and ">AR<" in html
    assert "Practises in Spanish" in html
    assert "$50" in html
    assert f'href="/therapists/{ana}"' in html


def test_no_results_explain_the_filter_relaxations_and_crisis_lines(client: Any, ana: int) -> None:
    html = client.post(
        "/find", data=search_form(**{"languages-0-code": "ko", "languages-0-need": "required"})
    ).get_data(as_text=True)
    assert "No therapist matches all of that yet" in html
    assert "do not practise in a language you need" in html
    assert "1 more" in html and "make Korean preferred instead of required" in html
    assert "1-800-662-4357" in html


def test_a_missing_state_is_shown_next_to_the_field(client: Any) -> None:
    response = client.post("/find", data={"setting": "in_office", "state": ""})
    assert response.status_code == 422
    assert "Choose your state." in response.get_data(as_text=True)


def test_a_bad_zip_for_an_office_search_is_explained(client: Any, ana: int) -> None:
    response = client.post("/find", data=search_form(setting="in_office", zip="00000"))
    assert response.status_code == 422
    assert "is not a known US ZIP code" in response.get_data(as_text=True)


def test_a_clients_search_is_saved_and_prefills_the_form(
    client: Any, ana: int, login: Any, make_user: Any
) -> None:
    login(make_user("client"))
    client.post(
        "/find",
        data=search_form(
            fee_band="",
            household_income="50000",
            household_size="2",
            days=["1", "3"],
            times="evening",
            **{"languages-0-code": "es", "languages-0-need": "required"},
        ),
    )
    html = client.get("/find").get_data(as_text=True)
    assert "We filled in your last search" in html
    assert '<option selected value="NY">' in html
    assert '<option selected value="es">' in html
    assert '<option selected value="required">' in html
    assert 'value="50000"' in html
    assert '<input checked id="times-2" name="times" type="checkbox" value="evening">' in html
    assert '<input checked id="days-1" name="days" type="checkbox" value="1">' in html


def test_public_profile_links_to_booking_and_hides_prices_from_visitors(
    client: Any, ana: int
) -> None:
    response = client.get(f"/therapists/{ana}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert f'href="/therapists/{ana}/book"' in html
    assert "Reduced fee (up to 250% of the poverty line)" in html
    assert "$50" not in html and "$150" not in html


def test_a_client_sees_the_price_in_their_band_only(
    client: Any, ana: int, login: Any, make_user: Any
) -> None:
    login(make_user("client"))
    client.post("/find", data=search_form(fee_band="c"))
    html = client.get(f"/therapists/{ana}").get_data(as_text=True)
    assert "<strong>$80</strong> a session in your fee band" in html
    assert "$30" not in html and "$150" not in html


def test_an_unverified_profile_page_is_404(client: Any, make_user: Any, now: datetime) -> None:
    hidden = make_therapist(make_user, now, "Hidden Harry", verified=False)
    assert client.get(f"/therapists/{hidden}").status_code == 404


PROFILE_FORM = {
    "display_name": "Teo Therapist",
    "bio": "Group work and CBT.",
    "license_type": "LMHC",
    "license_number": "NY-123",
    "license_state": "NY",
    "licence_states": ["NJ"],
    "online_states": ["NY", "NJ"],
    "office_zip": "10027",
    "home_zip": "",
    "gender": "man",
    "offers_individual": "y",
    "offers_group": "y",
    "accepting_new_clients": "y",
    "modalities": ["cbt", "group"],
    "languages": ["en", "pl"],
    "age_groups": ["adults"],
    "fees-0-code": "a",
    "fees-0-accepts": "y",
    "fees-0-dollars": "25",
    "fees-1-code": "b",
    "fees-2-code": "c",
    "fees-3-code": "d",
    "fees-3-accepts": "y",
    "fees-3-dollars": "140.50",
    "reduced_fee_weekly_cap": "4",
}


def test_a_therapist_edits_their_profile(client: Any, login: Any, make_user: Any) -> None:
    user = make_user("therapist")
    login(user)
    assert client.get("/practice/profile").status_code == 200
    response = client.post("/practice/profile", data=PROFILE_FORM)
    assert response.status_code == 302, response.get_data(as_text=True)
    details = get_therapist_details(user.therapist.id)
    assert details.fees == {"a": 2500, "d": 14050}
    assert details.tags["online_state"] == ["NJ", "NY"]
    assert details.tags["language"] == ["en", "pl"]
    assert details.profile.office_zip == "10027" and details.profile.office_lat is not None
    assert details.profile.reduced_fee_weekly_cap == 4
    html = client.get("/practice/profile").get_data(as_text=True)
    assert 'value="140.50"' in html


def test_profile_errors_show_next_to_fields_and_change_nothing(
    client: Any, login: Any, make_user: Any
) -> None:
    user = make_user("therapist")
    login(user)
    bad = {**PROFILE_FORM, "online_states": ["CA"], "fees-0-dollars": "90"}
    response = client.post("/practice/profile", data=bad)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Online sessions are allowed only where you are licensed: CA." in html
    assert "The fee for band a must be between $10 and $40." in html
    assert get_therapist_details(user.therapist.id).fees == {}


def test_clients_cannot_open_the_profile_editor(client: Any, login: Any, make_user: Any) -> None:
    login(make_user("client"))
    assert client.get("/practice/profile").status_code == 403


def test_an_admin_verifies_a_licence(
    client: Any, login: Any, make_user: Any, now: datetime
) -> None:
    waiting = make_therapist(make_user, now, "Wanda Waiting", verified=False)
    login(make_user("admin"))
    assert "Wanda Waiting" in client.get("/admin/licences").get_data(as_text=True)
    assert client.post(f"/admin/licences/{waiting}/verify").status_code == 302
    assert db.session.get(TherapistProfile, waiting).verified_at is not None  # type: ignore[union-attr]
    assert client.get(f"/therapists/{waiting}").status_code == 200


def test_an_admin_edits_a_band_and_the_guideline(client: Any, login: Any, make_user: Any) -> None:
    login(make_user("admin"))
    page = client.get("/admin/fee-bands")
    assert page.status_code == 200
    data: dict[str, str] = {}
    rows = [("a", "Lowest", "10", "40", "150"), ("b", "Reduced", "30", "70", "250")]
    rows += [("c", "Moderate", "60", "110", "400"), ("d", "Standard fee", "100", "220", "")]
    for i, (code, label, low, high, ceiling) in enumerate(rows):
        data |= {
            f"bands-{i}-code": code,
            f"bands-{i}-band_label": label,
            f"bands-{i}-min_dollars": low,
            f"bands-{i}-max_dollars": high,
            f"bands-{i}-max_fpl_percent": ceiling,
        }
    assert client.post("/admin/fee-bands", data=data).status_code == 302
    assert db.session.get(FeeBandRow, "d").max_cents == 22000  # type: ignore[union-attr]
    bad = {**data, "bands-3-max_fpl_percent": "500"}
    response = client.post("/admin/fee-bands", data=bad, follow_redirects=False)
    assert response.status_code == 200
    assert "Exactly one band must have no income ceiling" in response.get_data(as_text=True)
    guideline = {"year": "2026", "first_person_dollars": "16200", "each_additional_dollars": "5700"}
    assert client.post("/admin/poverty-guideline", data=guideline).status_code == 302
    stored = db.session.scalar(select(PovertyGuidelineRow).where(PovertyGuidelineRow.year == 2026))
    assert stored is not None and stored.first_person_cents == 1_620_000
