"""Matching tables: therapist tags and fees, the fee bands and poverty guidelines (data)."""

from __future__ import annotations

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from teletherapy.models.base import Base

# Kinds of therapist tags; each code comes from domain/vocabularies.py.
TAG_KINDS = (
    "modality",
    "concern",
    "language",
    "culture",
    "age_group",
    "online_state",  # states where the therapist offers online sessions (licensed there)
    "licence_state",  # every state of licence, for home visits and the profile
)


class TherapistTag(Base):
    """One attribute of a therapist; (kind, code) is indexed so filters start from the tag."""

    __tablename__ = "therapist_tags"
    __table_args__ = (Index("ix_therapist_tags_kind_code", "kind", "code", "therapist_id"),)

    therapist_id: Mapped[int] = mapped_column(
        ForeignKey("therapist_profiles.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    code: Mapped[str] = mapped_column(String(32), primary_key=True)


class FeeBandRow(Base):
    """A band of the sliding scale, editable by an administrator (domain.fees.FeeBand)."""

    __tablename__ = "fee_bands"
    __table_args__ = (CheckConstraint("min_cents >= 0 AND max_cents >= min_cents", name="range"),)

    code: Mapped[str] = mapped_column(String(8), primary_key=True)
    label: Mapped[str] = mapped_column(String(120))
    min_cents: Mapped[int]
    max_cents: Mapped[int]
    max_fpl_percent: Mapped[int | None]
    sort_order: Mapped[int] = mapped_column(default=0)


class TherapistFee(Base):
    """A therapist's price for one band they accept."""

    __tablename__ = "therapist_fees"
    __table_args__ = (
        Index("ix_therapist_fees_band_code_therapist_id", "band_code", "therapist_id"),
        CheckConstraint("fee_cents >= 0", name="fee_not_negative"),
    )

    therapist_id: Mapped[int] = mapped_column(
        ForeignKey("therapist_profiles.id", ondelete="CASCADE"), primary_key=True
    )
    band_code: Mapped[str] = mapped_column(ForeignKey("fee_bands.code"), primary_key=True)
    fee_cents: Mapped[int]


class PovertyGuidelineRow(Base):
    """One year's poverty guideline; the newest year is the one in use."""

    __tablename__ = "poverty_guidelines"

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    first_person_cents: Mapped[int]
    each_additional_cents: Mapped[int]
