"""Screening tables: results, consent, the cadence a therapist sets, and self-harm alerts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from teletherapy.clock import utcnow
from teletherapy.models.base import Base


class ScreeningConsent(Base):
    """A client's yes or no to screening, as shown on the intake step (never edited: appended)."""

    __tablename__ = "screening_consents"
    __table_args__ = (
        Index("ix_screening_consents_client_id_recorded_at", "client_id", "recorded_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    is_given: Mapped[bool]
    # Which wording of the explanation the client saw.
    text_version: Mapped[str] = mapped_column(String(20))
    language: Mapped[str] = mapped_column(String(8), default="en")
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)


class Screening(Base):
    """One completed questionnaire. Clinical content: never logged, mailed or sent to Stripe."""

    __tablename__ = "screenings"
    __table_args__ = (
        Index("ix_screenings_client_id_completed_at", "client_id", "completed_at"),
        CheckConstraint("total >= 0", name="total_not_negative"),
        CheckConstraint("instrument IN ('phq9', 'gad7')", name="known_instrument"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    instrument: Mapped[str] = mapped_column(String(8))
    answers: Mapped[list[int]] = mapped_column(JSON)
    total: Mapped[int]
    severity: Mapped[str] = mapped_column(String(24))
    # The functional-difficulty question: recorded, not scored; null when skipped.
    difficulty: Mapped[int | None]
    language: Mapped[str] = mapped_column(String(8), default="en")
    is_intake: Mapped[bool] = mapped_column(default=False)
    consent_id: Mapped[int | None] = mapped_column(
        ForeignKey("screening_consents.id", ondelete="SET NULL")
    )
    completed_at: Mapped[datetime]


class ScreeningCadence(Base):
    """How often a therapist asks one client to answer between sessions."""

    __tablename__ = "screening_cadences"
    __table_args__ = (
        UniqueConstraint("client_id", "therapist_id", name="uq_screening_cadences_pair"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    therapist_id: Mapped[int] = mapped_column(
        ForeignKey("therapist_profiles.id", ondelete="CASCADE"), index=True
    )
    cadence: Mapped[str] = mapped_column(String(16))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ScreeningAlert(Base):
    """A result that needs attention (PHQ-9 item 9 above 0), shown until acknowledged.

    `therapist_id` null means the practice's admins (the client has no therapist yet).
    """

    __tablename__ = "screening_alerts"
    __table_args__ = (Index("ix_screening_alerts_open", "therapist_id", "acknowledged_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    screening_id: Mapped[int] = mapped_column(
        ForeignKey("screenings.id", ondelete="CASCADE"), index=True
    )
    client_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    therapist_id: Mapped[int | None] = mapped_column(
        ForeignKey("therapist_profiles.id", ondelete="CASCADE")
    )
    created_at: Mapped[datetime]
    acknowledged_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    acknowledged_at: Mapped[datetime | None]
