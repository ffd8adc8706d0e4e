"""Each booking's calendar-feed text, rendered once per viewer and reused until it changes."""

from __future__ import annotations

from sqlalchemy import ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from teletherapy.models.base import Base


class BookingFeedText(Base):
    """The VEVENT text of one booking in one viewer's feed ("therapist" or "client").

    `fingerprint` digests everything the text is made of (SEQUENCE, DTSTAMP, times,
    status, the summary shown to that viewer, their time zone, the links' base): a
    changed booking has a new fingerprint, so its text is rendered again.
    """

    __tablename__ = "booking_feed_texts"

    booking_id: Mapped[int] = mapped_column(
        ForeignKey("bookings.id", ondelete="CASCADE"), primary_key=True
    )
    audience: Mapped[str] = mapped_column(String(16), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(40))
    body: Mapped[bytes] = mapped_column(LargeBinary)
