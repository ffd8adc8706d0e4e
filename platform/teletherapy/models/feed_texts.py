"""Each booking's calendar-feed text, rendered once per viewer and reused until it changes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from teletherapy.models.base import Base


class BookingFeedText(Base):
    """The VEVENT text of one booking in one viewer's feed ("therapist" or "client").

    The text is made of the booking (every change moves its `updated_at`, the DTSTAMP,
    kept here as `stamped_at`, and a reschedule or cancellation raises SEQUENCE, kept as
    `sequence`) and of what the viewer's feed shares: `fingerprint` digests the latter
    (the texts' templates in the viewer's language, their time zone, the links' base,
    their choice of detail) and, when names are shown, the other party's name. A row
    that differs from its booking in any of the three is rendered again; PostgreSQL
    finds those rows itself, so unchanged ones never leave the server.
    """

    __tablename__ = "booking_feed_texts"

    booking_id: Mapped[int] = mapped_column(
        ForeignKey("bookings.id", ondelete="CASCADE"), primary_key=True
    )
    audience: Mapped[str] = mapped_column(String(16), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(40))
    body: Mapped[bytes] = mapped_column(LargeBinary)
    sequence: Mapped[int | None]
    stamped_at: Mapped[datetime | None]
