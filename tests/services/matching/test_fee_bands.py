"""Fee bands and the poverty guideline as data: seeded, assigned from income, edited."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from teletherapy.domain.errors import ValidationError
from teletherapy.domain.fees import DEFAULT_FEE_BANDS, DEFAULT_POVERTY_GUIDELINE, FeeBand
from teletherapy.services.matching import fee_bands
from tests.matching_helpers import make_therapist, reseed_fee_tables


@pytest.fixture(autouse=True)
def seeded(app: Any) -> None:
    reseed_fee_tables()


def test_the_migration_seeds_the_default_bands_and_guideline(app: Any) -> None:
    assert fee_bands.list_fee_bands() == list(DEFAULT_FEE_BANDS)
    assert fee_bands.current_guideline() == DEFAULT_POVERTY_GUIDELINE


@pytest.mark.parametrize(
    "income_cents,household_size,band",
    [
        (0, 1, "a"),
        (2_347_500, 1, "a"),  # exactly 150 % of $15,650
        (2_347_600, 1, "b"),
        (5_000_000, 2, "b"),  # 236 % of $21,150
        (8_460_000, 2, "c"),  # exactly 400 % of $21,150
        (8_460_100, 2, "d"),
        (13_000_000, 4, "d"),  # 404 % of $32,150
    ],
)
def test_assign_band_uses_the_stored_guideline(
    app: Any, income_cents: int, household_size: int, band: str
) -> None:
    assert (
        fee_bands.assign_band(income_cents=income_cents, household_size=household_size).code == band
    )


def test_a_new_guideline_year_changes_the_assignment(app: Any) -> None:
    # $24,000 for one person: 153 % of 2025's $15,650 (band b) ...
    assert fee_bands.assign_band(income_cents=2_400_000, household_size=1).code == "b"
    fee_bands.save_guideline(year=2026, first_person_cents=1_620_000, each_additional_cents=570_000)
    # ... but 148 % of a 2026 figure of $16,200 (band a).
    assert fee_bands.current_guideline().year == 2026
    assert fee_bands.assign_band(income_cents=2_400_000, household_size=1).code == "a"


def test_a_bad_household_size_is_refused(app: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        fee_bands.assign_band(income_cents=100, household_size=0)
    assert "household_size" in caught.value.errors


def test_an_admin_edits_the_bands(app: Any) -> None:
    edited = [
        FeeBand("a", "Lowest", 500, 3500, 150),
        FeeBand("b", "Reduced", 3000, 7000, 250),
        FeeBand("c", "Moderate", 6000, 11000, 400),
        FeeBand("d", "Standard", 10000, 25000, None),
    ]
    assert fee_bands.update_fee_bands(bands=edited) == edited


@pytest.mark.parametrize(
    "bands,field",
    [
        ([FeeBand("a", "Only", 100, 200, 150)], "fee_bands"),  # no open-ended band
        ([FeeBand("a", "A", 500, 100, 150), FeeBand("d", "D", 1, 2, None)], "fee_bands"),
        ([FeeBand("a b", "A", 1, 2, 150), FeeBand("d", "D", 1, 2, None)], "code"),
        ([FeeBand("a", " ", 1, 2, 150), FeeBand("d", "D", 1, 2, None)], "label"),
    ],
)
def test_inconsistent_bands_are_refused_and_nothing_changes(
    app: Any, bands: list[FeeBand], field: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        fee_bands.update_fee_bands(bands=bands)
    assert field in caught.value.errors
    assert fee_bands.list_fee_bands() == list(DEFAULT_FEE_BANDS)


def test_a_band_cannot_shrink_below_prices_therapists_charge(
    app: Any, make_user: Any, now: datetime
) -> None:
    make_therapist(make_user, now, "Ana Price", fees={"a": 3800, "d": 15000})
    narrower = [
        FeeBand("a", "Lowest", 1000, 3500, 150) if b.code == "a" else b for b in DEFAULT_FEE_BANDS
    ]
    with pytest.raises(ValidationError) as caught:
        fee_bands.update_fee_bands(bands=narrower)
    assert "1 therapists charge a price outside $10 to $35" in " ".join(
        caught.value.errors["fee_bands"]
    )
    without_a = [b for b in DEFAULT_FEE_BANDS if b.code != "a"]
    with pytest.raises(ValidationError) as caught:
        fee_bands.update_fee_bands(bands=without_a)
    assert "Band a cannot be removed" in " ".join(caught.value.errors["fee_bands"])


def test_a_bad_guideline_is_refused(app: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        fee_bands.save_guideline(year=1800, first_person_cents=0, each_additional_cents=-1)
    assert set(caught.value.errors) == {"year", "first_person_cents", "each_additional_cents"}
    assert fee_bands.current_guideline() == DEFAULT_POVERTY_GUIDELINE
