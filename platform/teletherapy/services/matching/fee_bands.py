"""Fee bands and the poverty guideline as data: list, assign from income, admin edits."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, func, select

from teletherapy.domain.errors import NotFoundError, ValidationError
from teletherapy.domain.fees import FeeBand, PovertyGuideline, band_for_income, validate_fee_bands
from teletherapy.extensions import db
from teletherapy.models import FeeBandRow, PovertyGuidelineRow, TherapistFee

logger = logging.getLogger(__name__)


def _band(row: Any) -> FeeBand:
    return FeeBand(row.code, row.label, row.min_cents, row.max_cents, row.max_fpl_percent)


# Every search and booking reads the bands (and an income-based search the guideline):
# plain columns from statements built once, not ORM rows (a third of the CPU of a read);
# through the session, which may route them to a read replica (web/reads.py).
_B = FeeBandRow.__table__.c
_IN_ORDER = select(_B.code, _B.label, _B.min_cents, _B.max_cents, _B.max_fpl_percent).order_by(
    _B.sort_order, _B.code
)
_G = PovertyGuidelineRow.__table__.c
_NEWEST = (
    select(_G.year, _G.first_person_cents, _G.each_additional_cents)
    .order_by(_G.year.desc())
    .limit(1)
)


def list_fee_bands() -> list[FeeBand]:
    """Every band in display order (lowest fee first)."""
    return [_band(row) for row in db.session.execute(_IN_ORDER)]


def find_fee_band(code: str) -> FeeBand | None:
    row = db.session.get(FeeBandRow, code)
    return _band(row) if row is not None else None


def standard_band(bands: Sequence[FeeBand]) -> FeeBand:
    """The open-ended top band (full fee): used when a person names no band at all."""
    for band in bands:
        if band.max_fpl_percent is None:
            return band
    raise NotFoundError("No standard fee band is configured.")


def current_guideline() -> PovertyGuideline:
    """The newest year's poverty guideline."""
    row = db.session.execute(_NEWEST).first()
    if row is None:
        raise NotFoundError("No poverty guideline is configured.")
    return PovertyGuideline(row.year, row.first_person_cents, row.each_additional_cents)


def list_guidelines() -> list[PovertyGuideline]:
    rows = db.session.scalars(select(PovertyGuidelineRow).order_by(PovertyGuidelineRow.year.desc()))
    return [PovertyGuideline(r.year, r.first_person_cents, r.each_additional_cents) for r in rows]


def assign_band(*, income_cents: int, household_size: int) -> FeeBand:
    """The band for an annual household income and size, from the stored guideline."""
    return band_for_income(income_cents, household_size, list_fee_bands(), current_guideline())


def update_fee_bands(*, bands: Sequence[FeeBand]) -> list[FeeBand]:
    """Replace the band table with an administrator's edit; all or nothing.

    Existing codes may be changed but not dropped while therapists have prices in them,
    and no band may be narrowed so that a therapist's current price falls outside it
    (the therapist would silently be charging a fee the scale no longer allows).
    """
    validate_fee_bands(bands)
    errors: dict[str, list[str]] = {}
    for band in bands:
        if not band.code or len(band.code) > 8 or not band.code.isalnum():
            errors.setdefault("code", []).append(
                f"Band code {band.code!r} must be 1 to 8 letters or digits."
            )
        if not band.label.strip():
            errors.setdefault("label", []).append(f"Band {band.code} needs a label.")
    codes = {band.code for band in bands}
    in_use = db.session.execute(
        select(TherapistFee.band_code, func.count())
        .where(TherapistFee.band_code.not_in(codes))
        .group_by(TherapistFee.band_code)
    ).all()
    for code, count in in_use:
        errors.setdefault("fee_bands", []).append(
            f"Band {code} cannot be removed: {count} therapists have a price in it."
        )
    for band in bands:
        outside = db.session.scalar(
            select(func.count())
            .select_from(TherapistFee)
            .where(
                TherapistFee.band_code == band.code,
                (TherapistFee.fee_cents < band.min_cents)
                | (TherapistFee.fee_cents > band.max_cents),
            )
        )
        if outside:
            errors.setdefault("fee_bands", []).append(
                f"Band {band.code}: {outside} therapists charge a price outside "
                f"{band.range_text}; they must change it first."
            )
    if errors:
        raise ValidationError("The fee bands were not saved.", errors=errors)
    existing = {row.code: row for row in db.session.scalars(select(FeeBandRow))}
    db.session.execute(delete(FeeBandRow).where(FeeBandRow.code.not_in(codes)))
    for order, band in enumerate(bands, start=1):
        row = existing.get(band.code) or FeeBandRow(code=band.code)
        row.label = band.label.strip()
        row.min_cents = band.min_cents
        row.max_cents = band.max_cents
        row.max_fpl_percent = band.max_fpl_percent
        row.sort_order = order
        db.session.add(row)
    db.session.commit()
    logger.info("fee bands updated: %s", ",".join(sorted(codes)))
    return list_fee_bands()


def save_guideline(
    *, year: int, first_person_cents: int, each_additional_cents: int
) -> PovertyGuideline:
    """Add or correct one year's guideline (the newest year is the one used)."""
    errors: dict[str, list[str]] = {}
    if not 1990 <= year <= 2200:
        errors["year"] = ["Enter a year between 1990 and 2200."]
    if first_person_cents <= 0:
        errors["first_person_cents"] = ["The amount for one person must be positive."]
    if each_additional_cents < 0:
        errors["each_additional_cents"] = ["The amount per extra person cannot be negative."]
    if errors:
        raise ValidationError("The poverty guideline was not saved.", errors=errors)
    row = db.session.get(PovertyGuidelineRow, year) or PovertyGuidelineRow(year=year)
    row.first_person_cents = first_person_cents
    row.each_additional_cents = each_additional_cents
    db.session.add(row)
    db.session.commit()
    logger.info("poverty guideline saved for %s", year)
    return PovertyGuideline(year, first_person_cents, each_additional_cents)
