"""Scheduling tables: availability, bookings (with the no-overlap constraint), idempotency."""

from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    String,
    Time,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ExcludeConstraint
from sqlalchemy.orm import Mapped, mapped_column

from teletherapy.clock import utcnow
from teletherapy.domain.booking import ACTIVE_STATUSES as DOMAIN_ACTIVE_STATUSES
from teletherapy.domain.booking import BookingStatus
from teletherapy.models.base import Base, status_column_type

# Statuses that hold the therapist's time (the domain's, as a tuple for SQL `IN`). A held
# booking whose hold expired is moved to "expired" (under the therapist's lock) before
# anything new is inserted.
ACTIVE_STATUSES: tuple[BookingStatus, ...] = tuple(sorted(DOMAIN_ACTIVE_STATUSES))
# The same rows as SQL: active, and the therapist's own time (not a group member's row).
ACTIVE_SQL = "status IN ('held', 'confirmed') AND (group_id IS NULL OR client_id IS NULL)"


class AvailabilitySettings(Base):
    __tablename__ = "availability_settings"

    therapist_id: Mapped[int] = mapped_column(
        ForeignKey("therapist_profiles.id", ondelete="CASCADE"), primary_key=True
    )
    time_zone: Mapped[str] = mapped_column(String(64), default="America/New_York")
    session_minutes: Mapped[int] = mapped_column(default=50)
    buffer_minutes: Mapped[int] = mapped_column(default=10)
    travel_buffer_minutes: Mapped[int] = mapped_column(default=30)
    min_notice_hours: Mapped[int] = mapped_column(default=24)
    horizon_days: Mapped[int] = mapped_column(default=60)
    max_per_day: Mapped[int | None]
    max_per_week: Mapped[int | None]
    cancellation_window_hours: Mapped[int] = mapped_column(default=24)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class AvailabilityRule(Base):
    """A weekly window in wall-clock time of the therapist's zone (weekday 0 = Monday)."""

    __tablename__ = "availability_rules"
    __table_args__ = (
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday_range"),
        # 00:00 as an end time means midnight at the end of the day (SQLite stores
        # TIME as text with microseconds, hence both spellings).
        CheckConstraint(
            "end_time > start_time OR end_time IN ('00:00:00', '00:00:00.000000')",
            name="end_after_start",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    therapist_id: Mapped[int] = mapped_column(
        ForeignKey("therapist_profiles.id", ondelete="CASCADE"), index=True
    )
    weekday: Mapped[int]
    start_time: Mapped[time] = mapped_column(Time)
    end_time: Mapped[time] = mapped_column(Time)
    setting: Mapped[str] = mapped_column(String(16))


class AvailabilityOverride(Base):
    """A date that replaces the weekly rules: a day off, or other hours."""

    __tablename__ = "availability_overrides"

    id: Mapped[int] = mapped_column(primary_key=True)
    therapist_id: Mapped[int] = mapped_column(
        ForeignKey("therapist_profiles.id", ondelete="CASCADE"), index=True
    )
    on_date: Mapped[date] = mapped_column(Date)
    is_available: Mapped[bool] = mapped_column(default=False)
    start_time: Mapped[time | None] = mapped_column(Time)
    end_time: Mapped[time | None] = mapped_column(Time)
    setting: Mapped[str | None] = mapped_column(String(16))


class BookingSeries(Base):
    """A weekly series: the same weekday and wall-clock time for N weeks."""

    __tablename__ = "booking_series"

    id: Mapped[int] = mapped_column(primary_key=True)
    therapist_id: Mapped[int] = mapped_column(
        ForeignKey("therapist_profiles.id", ondelete="CASCADE"), index=True
    )
    client_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    time_zone: Mapped[str] = mapped_column(String(64))
    count: Mapped[int]
    setting: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    ics_sequence: Mapped[int] = mapped_column(default=0)


class Booking(Base):
    """One session on the therapist's calendar (individual, or one meeting of a group).

    `blocked_start_at`/`blocked_end_at` are the time the session takes out of the
    therapist's day: the session plus its buffer (and travel for home visits).
    On PostgreSQL an exclusion constraint forbids two active bookings of one
    therapist whose blocked ranges overlap.
    """

    __tablename__ = "bookings"
    __table_args__ = (
        CheckConstraint("end_at > start_at", name="end_after_start"),
        CheckConstraint(
            "blocked_start_at <= start_at AND blocked_end_at >= end_at", name="blocked_covers"
        ),
        Index("ix_bookings_therapist_id_start_at", "therapist_id", "start_at"),
        Index("ix_bookings_client_id_start_at", "client_id", "start_at"),
        # Matching's weekly counts (0015_matching): only the sessions that hold the
        # therapist's time, with the fee band, so a count never reads the table.
        Index(
            "ix_bookings_active_therapist_id_start_at",
            "therapist_id",
            "start_at",
            postgresql_include=["fee_band"],
            postgresql_where=text(ACTIVE_SQL),
            sqlite_where=text(ACTIVE_SQL),
        ),
        ExcludeConstraint(
            ("therapist_id", "="),
            (func.tstzrange(text("blocked_start_at"), text("blocked_end_at"), "[)"), "&&"),
            name="no_overlapping_sessions",
            using="gist",
            # A group member's own row is exempt: the meeting row blocks the time.
            where=text(
                "status IN ('held', 'confirmed') "
                "AND NOT (group_id IS NOT NULL AND client_id IS NOT NULL)"
            ),
        ).ddl_if(dialect="postgresql"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    therapist_id: Mapped[int] = mapped_column(
        ForeignKey("therapist_profiles.id", ondelete="CASCADE")
    )
    # Null for the therapist's time block of a group meeting. A seated member has a
    # row of their own per meeting (group_id and client_id both set) that never
    # counts as the therapist's time (see `is_therapist_time`).
    client_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    group_id: Mapped[int | None] = mapped_column(index=True)
    series_id: Mapped[int | None] = mapped_column(
        ForeignKey("booking_series.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[BookingStatus] = mapped_column(
        status_column_type(BookingStatus, 16), default=BookingStatus.CONFIRMED
    )
    setting: Mapped[str] = mapped_column(String(16))
    start_at: Mapped[datetime]
    end_at: Mapped[datetime]
    blocked_start_at: Mapped[datetime]
    blocked_end_at: Mapped[datetime]
    time_zone: Mapped[str] = mapped_column(String(64))  # the therapist's zone when booked
    hold_expires_at: Mapped[datetime | None]
    fee_cents: Mapped[int] = mapped_column(default=0)
    currency: Mapped[str] = mapped_column(String(3), default="usd")
    fee_band: Mapped[str | None] = mapped_column(String(8))
    is_late_cancellation: Mapped[bool] = mapped_column(default=False)
    cancelled_at: Mapped[datetime | None]
    cancelled_by: Mapped[str | None] = mapped_column(String(16))  # client | therapist | system
    cancel_reason: Mapped[str | None] = mapped_column(String(500))
    video_room: Mapped[str | None] = mapped_column(String(120))
    ics_sequence: Mapped[int] = mapped_column(default=0)
    rescheduled_from_id: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class IdempotencyRecord(Base):
    """The first answer to a request sent with an Idempotency-Key, replayed on retries."""

    __tablename__ = "idempotency_records"
    __table_args__ = (UniqueConstraint("user_id", "key", name="uq_idempotency_user_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int]
    body: Mapped[dict[str, object]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
