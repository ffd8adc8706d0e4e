"""Calendar tables: feed tokens, each person's notification preferences, invite identities."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from teletherapy.clock import utcnow
from teletherapy.domain.vocabularies import CalendarDetail
from teletherapy.models.base import Base


class CalendarFeedToken(Base):
    """A private feed address; only the SHA-256 of the token is stored (shown once)."""

    __tablename__ = "calendar_feed_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
    # When something the owner's feed is made of last changed (their sessions, their
    # preferences, their zone or language), stamped in the commit that changed it:
    # a conditional request is answered from this one row. None: since created_at.
    changed_at: Mapped[datetime | None]


class NotificationPreference(Base):
    """How one person's sessions appear in calendars and when they are reminded.

    No row means the defaults: reminders 24 h and 1 h before, discreet text for clients
    and named text for therapists.
    """

    __tablename__ = "notification_preferences"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    reminder_offsets_minutes: Mapped[list[int]] = mapped_column(JSON, default=lambda: [1440, 60])
    reminders_enabled: Mapped[bool] = mapped_column(default=True)
    calendar_detail: Mapped[str] = mapped_column(String(16), default=CalendarDetail.DISCREET.value)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class BookingCalendarEntry(Base):
    """The identity calendars know a booking by: its UID and, in a series, its original start.

    Kept apart from the booking because a reschedule may move the row (or create a new
    one); the UID and RECURRENCE-ID must not change with it.
    """

    __tablename__ = "booking_calendar_entries"

    booking_id: Mapped[int] = mapped_column(
        ForeignKey("bookings.id", ondelete="CASCADE"), primary_key=True
    )
    uid: Mapped[str] = mapped_column(String(160), index=True)
    recurrence_id: Mapped[datetime | None]
