"""Sliding-scale fee bands as data: income -> % of the poverty guideline -> band -> fee range."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from teletherapy.domain.errors import Text, ValidationError
from teletherapy.domain.money import format_cents


@dataclass(frozen=True, slots=True)
class FeeBand:
    """A band of the sliding scale: a session price range and the income ceiling that earns it.

    `max_fpl_percent` is the highest household income, as a percentage of the poverty
    guideline, that falls in this band (inclusive); None marks the open-ended top band.
    Every band with a ceiling is a *reduced-fee* band: sessions in it count against the
    therapist's weekly reduced-fee cap. The top band is the therapist's full fee and is
    never capped.
    """

    code: str
    label: str
    min_cents: int
    max_cents: int
    max_fpl_percent: int | None

    @property
    def is_reduced(self) -> bool:
        return self.max_fpl_percent is not None

    @property
    def range_text(self) -> str:
        return f"{format_cents(self.min_cents)} to {format_cents(self.max_cents)}"


@dataclass(frozen=True, slots=True)
class PovertyGuideline:
    """One year's HHS poverty guideline: annual income for 1 person plus each extra person."""

    year: int
    first_person_cents: int
    each_additional_cents: int

    def for_household(self, household_size: int) -> int:
        if household_size < 1:
            raise ValueError("household_size must be at least 1")
        return self.first_person_cents + (household_size - 1) * self.each_additional_cents


# 2025 HHS poverty guideline, 48 contiguous states and DC (Federal Register 90 FR 5917,
# 17 January 2025): $15,650 for one person, $5,500 for each additional person ($32,150 for
# four). Alaska and Hawaii have their own, higher figures. Only used to seed the
# poverty_guidelines table; the running system reads the table.
DEFAULT_POVERTY_GUIDELINE = PovertyGuideline(
    year=2025, first_person_cents=1_565_000, each_additional_cents=550_000
)

# Ceilings at 150 / 250 / 400 % FPL follow common clinic sliding scales (150 % and 400 %
# are the Medicaid-adjacent and ACA-subsidy limits clients already know). Price ranges are
# per 50-minute session and overlap on purpose so a therapist's price can step smoothly
# from band to band; for scale, Open Path Collective's reduced rate is $30-$80 and a typical
# US private-practice full fee is $100-$200. Only used to seed the fee_bands table.
DEFAULT_FEE_BANDS: tuple[FeeBand, ...] = (
    FeeBand("a", "Lowest fee (up to 150% of the poverty line)", 1_000, 4_000, 150),
    FeeBand("b", "Reduced fee (up to 250% of the poverty line)", 3_000, 7_000, 250),
    FeeBand("c", "Moderate fee (up to 400% of the poverty line)", 6_000, 11_000, 400),
    FeeBand("d", "Standard fee", 10_000, 20_000, None),
)


def fpl_percent(income_cents: int, household_size: int, guideline: PovertyGuideline) -> float:
    """Annual household income as a percentage of the poverty guideline for its size."""
    if income_cents < 0:
        raise ValueError("income_cents must not be negative")
    return income_cents * 100 / guideline.for_household(household_size)


def band_for_income(
    income_cents: int,
    household_size: int,
    bands: Iterable[FeeBand],
    guideline: PovertyGuideline,
) -> FeeBand:
    """The band with the lowest ceiling at or above the income's FPL percentage, else the top.

    Compared in integers (income * 100 <= ceiling * guideline), so an income exactly at a
    ceiling lands in that band rather than wherever float rounding would put it.
    """
    if household_size < 1:
        raise ValidationError(
            "Household size must be at least 1.",
            errors={"household_size": ["Household size must be at least 1."]},
        )
    if income_cents < 0:
        raise ValidationError(
            "Household income cannot be negative.",
            errors={"household_income_cents": ["Household income cannot be negative."]},
        )
    ordered = _ordered(bands)
    guideline_cents = guideline.for_household(household_size)
    for band in ordered:
        ceiling = band.max_fpl_percent
        if ceiling is None or income_cents * 100 <= ceiling * guideline_cents:
            return band
    return ordered[-1]


def find_band(bands: Iterable[FeeBand], code: str) -> FeeBand | None:
    return next((band for band in bands if band.code == code), None)


def validate_fee(band: FeeBand, fee_cents: int, *, field: str = "fee_cents") -> None:
    """Raise ValidationError unless `fee_cents` lies within the band's range (inclusive)."""
    if not band.min_cents <= fee_cents <= band.max_cents:
        message = Text(
            "The fee for band %(band)s must be between %(low)s and %(high)s.",
            band=band.code,
            low=format_cents(band.min_cents),
            high=format_cents(band.max_cents),
        )
        raise ValidationError(message, errors={field: [message]})


def validate_fee_bands(bands: Sequence[FeeBand]) -> None:
    """Check an admin's edit of the bands table: the rules `band_for_income` relies on."""
    problems: list[str] = []
    codes = [band.code for band in bands]
    if len(set(codes)) != len(codes):
        problems.append("Band codes must be unique.")
    if sum(band.max_fpl_percent is None for band in bands) != 1:
        problems.append("Exactly one band must have no income ceiling (the standard fee).")
    ceilings = [band.max_fpl_percent for band in bands if band.max_fpl_percent is not None]
    if len(set(ceilings)) != len(ceilings) or any(c <= 0 for c in ceilings):
        problems.append("Income ceilings must be positive and different from each other.")
    for band in bands:
        if not 0 <= band.min_cents <= band.max_cents:
            problems.append(
                Text(
                    "Band %(band)s: the minimum must be between 0 and the maximum.", band=band.code
                )
            )
    if problems:
        raise ValidationError("The fee bands are inconsistent.", errors={"fee_bands": problems})


def _ordered(bands: Iterable[FeeBand]) -> list[FeeBand]:
    ordered = sorted(
        bands,
        key=lambda b: (b.max_fpl_percent is None, b.max_fpl_percent or 0, b.code),
    )
    if not ordered:
        raise ValueError("no fee bands configured")
    return ordered
