"""Payment tables: the money ledger, Stripe event ids, therapist settings, client profiles."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from teletherapy.clock import utcnow
from teletherapy.domain.payments import LedgerStatus
from teletherapy.models.base import Base, status_column_type


class Payment(Base):
    """One line of the ledger: a charge, a refund or a fee for one booking.

    A line that moves money through Stripe carries the deterministic idempotency
    key of that movement ("pay-12", "refund-12", "late-fee-12"); the key is unique,
    so the ledger can never hold the same movement twice.
    """

    __tablename__ = "payments"
    __table_args__ = (
        Index("ix_payments_client_id_created_at", "client_id", "created_at"),
        Index("ix_payments_therapist_id_created_at", "therapist_id", "created_at"),
        Index("ix_payments_status_kind", "status", "kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id"), index=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    therapist_id: Mapped[int] = mapped_column(ForeignKey("therapist_profiles.id"))
    kind: Mapped[str] = mapped_column(String(16))
    amount_cents: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3), default="usd")
    status: Mapped[LedgerStatus] = mapped_column(
        status_column_type(LedgerStatus, 24), default=LedgerStatus.PENDING
    )
    method: Mapped[str] = mapped_column(String(16))  # pay_now | card_on_file | pay_at_session
    idempotency_key: Mapped[str | None] = mapped_column(String(80), unique=True)
    stripe_payment_intent_id: Mapped[str | None] = mapped_column(String(255), index=True)
    stripe_refund_id: Mapped[str | None] = mapped_column(String(255))
    # What people read ("Late cancellation (inside 24 h): $40 fee") and the short
    # code that is all Stripe ever sees of it ("late_cancellation").
    reason: Mapped[str] = mapped_column(String(200), default="")
    reason_code: Mapped[str] = mapped_column(String(40), default="")
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class StripeEvent(Base):
    """Every verified Stripe event id, stored once: a replay finds its id and does nothing."""

    __tablename__ = "stripe_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(String(255), unique=True)
    type: Mapped[str] = mapped_column(String(100))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    processed_at: Mapped[datetime | None]


class TherapistPaymentSettings(Base):
    """Which ways to pay a therapist accepts, and their late-cancellation policy."""

    __tablename__ = "therapist_payment_settings"

    therapist_id: Mapped[int] = mapped_column(
        ForeignKey("therapist_profiles.id", ondelete="CASCADE"), primary_key=True
    )
    accepts_pay_now: Mapped[bool] = mapped_column(default=False)
    accepts_card_on_file: Mapped[bool] = mapped_column(default=False)
    accepts_pay_at_session: Mapped[bool] = mapped_column(default=True)
    late_cancel_fee_cents: Mapped[int] = mapped_column(default=0)
    waive_first_late_cancel: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ClientPaymentProfile(Base):
    """A client's Stripe customer and saved card (ids only), and waivers already used."""

    __tablename__ = "client_payment_profiles"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    stripe_customer_id: Mapped[str | None] = mapped_column(String(255))
    default_payment_method_id: Mapped[str | None] = mapped_column(String(255))
    late_cancellations_waived: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
