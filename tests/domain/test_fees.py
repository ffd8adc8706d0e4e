"""Tests for fee bands, the poverty guideline, and money formatting."""

from __future__ import annotations

import pytest

from teletherapy.domain.errors import ValidationError
from teletherapy.domain.fees import (
    DEFAULT_FEE_BANDS,
    DEFAULT_POVERTY_GUIDELINE,
    FeeBand,
    PovertyGuideline,
    band_for_income,
    find_band,
    fpl_percent,
    validate_fee,
    validate_fee_bands,
)
from teletherapy.domain.money import format_cents

BANDS = {band.code: band for band in DEFAULT_FEE_BANDS}
G2025 = DEFAULT_POVERTY_GUIDELINE


@pytest.mark.parametrize(
    ("household_size", "dollars"),
    [(1, 15_650), (2, 21_150), (3, 26_650), (4, 32_150), (8, 54_150)],
)
def test_2025_guideline_matches_the_published_table(household_size: int, dollars: int) -> None:
    assert G2025.for_household(household_size) == dollars * 100


def test_household_of_zero_is_refused_by_the_guideline() -> None:
    with pytest.raises(ValueError):
        G2025.for_household(0)


@pytest.mark.parametrize(
    ("income_dollars", "household_size", "percent"),
    [
        (15_650, 1, 100.0),
        (0, 1, 0.0),
        (32_150, 4, 100.0),
        (48_225, 4, 150.0),
        (32_000, 3, 32_000 / 26_650 * 100),
    ],
)
def test_fpl_percent(income_dollars: int, household_size: int, percent: float) -> None:
    assert fpl_percent(income_dollars * 100, household_size, G2025) == pytest.approx(percent)


def test_negative_income_has_no_fpl_percent() -> None:
    with pytest.raises(ValueError):
        fpl_percent(-1, 1, G2025)


# Each row: annual income in cents, household size, expected band (2025 guideline, 1 person
# 150% = $23,475, 250% = $39,125, 400% = $62,600; 4 people 150% = $48,225, 400% = $128,600).
@pytest.mark.parametrize(
    ("income_cents", "household_size", "band"),
    [
        (0, 1, "a"),
        (2_347_500, 1, "a"),  # exactly 150 %: the ceiling is inclusive
        (2_347_501, 1, "b"),  # one cent over
        (3_912_500, 1, "b"),  # exactly 250 %
        (3_912_501, 1, "c"),
        (6_260_000, 1, "c"),  # exactly 400 %
        (6_260_001, 1, "d"),
        (50_000_000, 1, "d"),
        (4_822_500, 4, "a"),  # a family of four at 150 %
        (3_200_000, 3, "a"),  # the DESIGN.md example: $32,000 for 3 people = 120 %
        (12_860_000, 4, "c"),
        (12_860_001, 4, "d"),
    ],
)
def test_band_for_income(income_cents: int, household_size: int, band: str) -> None:
    assert band_for_income(income_cents, household_size, DEFAULT_FEE_BANDS, G2025).code == band


def test_band_for_income_does_not_depend_on_the_order_of_the_bands() -> None:
    shuffled = tuple(reversed(DEFAULT_FEE_BANDS))
    assert band_for_income(3_000_000, 1, shuffled, G2025).code == "b"


def test_band_for_income_uses_the_guideline_it_is_given() -> None:
    g2024 = PovertyGuideline(year=2024, first_person_cents=1_506_000, each_additional_cents=538_000)
    # $23,000 is 146.96 % of 2025's guideline but 152.72 % of 2024's.
    assert band_for_income(2_300_000, 1, DEFAULT_FEE_BANDS, G2025).code == "a"
    assert band_for_income(2_300_000, 1, DEFAULT_FEE_BANDS, g2024).code == "b"


def test_without_an_open_ended_band_high_incomes_get_the_highest_band() -> None:
    capped = DEFAULT_FEE_BANDS[:2]
    assert band_for_income(100_000_000, 1, capped, G2025).code == "b"


@pytest.mark.parametrize(
    ("income_cents", "household_size", "field"),
    [(-1, 1, "household_income_cents"), (1_000_000, 0, "household_size")],
)
def test_impossible_household_is_a_validation_error(
    income_cents: int, household_size: int, field: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        band_for_income(income_cents, household_size, DEFAULT_FEE_BANDS, G2025)
    assert field in caught.value.errors


def test_only_the_top_band_is_full_fee() -> None:
    assert [band.code for band in DEFAULT_FEE_BANDS if band.is_reduced] == ["a", "b", "c"]


def test_default_bands_are_consistent() -> None:
    validate_fee_bands(DEFAULT_FEE_BANDS)


@pytest.mark.parametrize(
    ("bands", "problem"),
    [
        ((*DEFAULT_FEE_BANDS, BANDS["a"]), "unique"),
        (DEFAULT_FEE_BANDS[:3], "no income ceiling"),
        ((*DEFAULT_FEE_BANDS, FeeBand("e", "Top", 1, 2, None)), "no income ceiling"),
        ((*DEFAULT_FEE_BANDS, FeeBand("e", "Same", 1, 2, 150)), "different"),
        ((*DEFAULT_FEE_BANDS, FeeBand("e", "Upside down", 50, 10, 500)), "minimum"),
    ],
)
def test_inconsistent_bands_are_refused(bands: tuple[FeeBand, ...], problem: str) -> None:
    with pytest.raises(ValidationError) as caught:
        validate_fee_bands(bands)
    assert any(problem in message for message in caught.value.errors["fee_bands"])


def test_find_band_by_code() -> None:
    assert find_band(DEFAULT_FEE_BANDS, "c") == BANDS["c"]
    assert find_band(DEFAULT_FEE_BANDS, "z") is None


@pytest.mark.parametrize(
    ("band", "fee_cents", "ok"),
    [
        ("a", 1_000, True),
        ("a", 4_000, True),
        ("a", 999, False),
        ("a", 4_001, False),
        ("b", 4_000, True),  # bands overlap: $40 is fine in a and in b
        ("d", 9_999, False),
        ("d", 20_000, True),
    ],
)
def test_validate_fee_keeps_prices_inside_the_band(band: str, fee_cents: int, ok: bool) -> None:
    if ok:
        validate_fee(BANDS[band], fee_cents)
    else:
        with pytest.raises(ValidationError) as caught:
            validate_fee(BANDS[band], fee_cents, field=f"fees.{band}")
        (message,) = caught.value.errors[f"fees.{band}"]
        assert message.startswith(f"The fee for band {band} must be between $")


@pytest.mark.parametrize(
    ("cents", "currency", "text"),
    [
        (4_000, "usd", "$40"),
        (4_250, "usd", "$42.50"),
        (5, "usd", "$0.05"),
        (0, "usd", "$0"),
        (120_000, "USD", "$1,200"),
        (-1_050, "usd", "-$10.50"),
        (4_000, "eur", "40.00 EUR"),
    ],
)
def test_format_cents(cents: int, currency: str, text: str) -> None:
    assert format_cents(cents, currency) == text
