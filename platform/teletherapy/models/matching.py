"""Matching tables: therapist tags and fees, the fee bands and poverty guidelines (data)."""

from __future__ import annotations

from sqlalchemy import ARRAY, JSON, CheckConstraint, ForeignKey, Index, String
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
        # With the price (PostgreSQL, 0019): an in-person search's probe per therapist in
        # its box reads the index alone.
        Index(
            "ix_therapist_fees_band_code_therapist_id",
            "band_code",
            "therapist_id",
            postgresql_include=["fee_cents"],
        ),
        CheckConstraint("fee_cents >= 0", name="fee_not_negative"),
    )

    therapist_id: Mapped[int] = mapped_column(
        ForeignKey("therapist_profiles.id", ondelete="CASCADE"), primary_key=True
    )
    band_code: Mapped[str] = mapped_column(ForeignKey("fee_bands.code"), primary_key=True)
    fee_cents: Mapped[int]


class OnlineListing(Base):
    """A verified therapist who accepts new clients, once per state they see clients online
    in and per band they accept, with what an online search reads of them: an online
    search reads the rows of its state and band from the primary key alone, instead of
    joining profiles, tags and fees for every therapist online in the state.

    PostgreSQL only, kept by statement-level triggers on therapist_profiles and
    therapist_fees (0019_online_listings; a tag's change reaches the profile's tag_codes),
    so every writer, a bulk COPY included, keeps it current in its own transaction.
    SQLite leaves it empty: its online search joins the tables themselves.
    """

    __tablename__ = "online_listings"
    __table_args__ = (Index("ix_online_listings_therapist_id", "therapist_id"),)

    state: Mapped[str] = mapped_column(String(32), primary_key=True)
    band_code: Mapped[str] = mapped_column(String(8), primary_key=True)
    therapist_id: Mapped[int] = mapped_column(
        ForeignKey("therapist_profiles.id", ondelete="CASCADE"), primary_key=True
    )
    fee_cents: Mapped[int]
    offers_group: Mapped[bool]
    gender: Mapped[str | None] = mapped_column(String(16))
    faith_integrated: Mapped[bool]
    lgbtq_affirming: Mapped[bool]
    reduced_fee_weekly_cap: Mapped[int | None]
    tag_codes: Mapped[list[str] | None] = mapped_column(
        ARRAY(String(50)).with_variant(JSON(), "sqlite")
    )


class PovertyGuidelineRow(Base):
    """One year's poverty guideline; the newest year is the one in use."""

    __tablename__ = "poverty_guidelines"

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    first_person_cents: Mapped[int]
    each_additional_cents: Mapped[int]
