"""The therapist's public profile editor (/practice/profile)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from teletherapy.services.matching.profiles import get_therapist_details
from tests.matching_helpers import reseed_fee_tables


@pytest.fixture(autouse=True)
def seeded(app: Any) -> None:
    reseed_fee_tables()


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
    page = client.get("/practice/profile").get_data(as_text=True)
    # States from a searchable list of checkboxes, not a ctrl-click multi-select.
    assert 'type="checkbox" value="NY"' in page and "<select multiple" not in page
    assert 'id="online_states-filter"' in page and "state_picker.js" in page
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
    # Next to band a's price, naming the band by its label.
    error = re.search(r'<p class="error" id="fees-0-dollars-error">([^<]*)</p>', html)
    assert error is not None and error.group(1).endswith(": enter a price between $10 and $40.")
    assert "band a" not in error.group(1) and 'aria-describedby="fees-0-dollars-error"' in html
    assert "The fee for band a must be" not in html  # said once, where it belongs
    assert get_therapist_details(user.therapist.id).fees == {}


def test_clients_cannot_open_the_profile_editor(client: Any, login: Any, make_user: Any) -> None:
    login(make_user("client"))
    assert client.get("/practice/profile").status_code == 403
