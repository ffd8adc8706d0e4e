"""Pages: the intake form and results, and public therapist profiles."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

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
    # The price and the next opening are said once, in the result's header, and not
    # again among the reasons.
    assert html.count("$50") == 1
    assert "a session in your fee band" not in html
    assert "Next opening" not in html and "your time" not in html
    # The zone is named in words, not as its IANA id.
    assert "Times are shown in Eastern Time." in html and "America/New_York" not in html
    # A search with no wishes has no reasons left to list: no empty list either.
    plain = client.post("/find", data=search_form()).get_data(as_text=True)
    assert "Ana R." in plain and '<ul class="reasons"></ul>' not in plain
    # The profile (and so the slot picker) opens on the setting searched for.
    assert f'href="/therapists/{ana}?setting=online"' in html


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
    assert f'href="/sessions/book/{ana}"' in html
    searched = client.get(f"/therapists/{ana}?setting=in_office").get_data(as_text=True)
    assert f'href="/sessions/book/{ana}?setting=in_office"' in searched
    assert "Reduced fee (up to 250% of the poverty line)" in html
    assert "$50" not in html and "$150" not in html


def test_a_client_sees_the_price_in_their_band_only(
    client: Any, ana: int, login: Any, make_user: Any
) -> None:
    login(make_user("client"))
    client.post("/find", data=search_form(fee_band="c"))
    html = client.get(f"/therapists/{ana}").get_data(as_text=True)
    assert "<strong>$80</strong> a session in your fee band" in html
    assert f'href="/sessions/book/{ana}?setting=online"' in html  # the saved search's
    assert "$30" not in html and "$150" not in html


def test_an_unverified_profile_page_is_404(client: Any, make_user: Any, now: datetime) -> None:
    hidden = make_therapist(make_user, now, "Hidden Harry", verified=False)
    assert client.get(f"/therapists/{hidden}").status_code == 404
