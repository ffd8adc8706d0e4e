"""Equity tables: searches as aggregates-to-be, and first search -> first session as elapsed time.

Nothing here names a person except `equity_first_searches`, which holds one row per
client who has searched but not yet booked, and is deleted (condensed into an
anonymous `equity_care_starts` row) at their first booking or after 30 days.
Nothing clinical is stored: no concerns, modalities, screening or notes.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from teletherapy.models.base import Base


class EquitySearch(Base):
    """One search, with no identity: the hour, what was asked for, and how it went."""

    __tablename__ = "equity_searches"

    id: Mapped[int] = mapped_column(primary_key=True)
    searched_at: Mapped[datetime] = mapped_column(index=True)  # truncated to the hour
    fee_band: Mapped[str] = mapped_column(String(8))
    setting: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(2))
    # Sorted ISO 639-1 codes joined by commas ("" for none).
    required_languages: Mapped[str] = mapped_column(String(64), default="")
    preferred_languages: Mapped[str] = mapped_column(String(64), default="")
    result_count: Mapped[int]
    most_removed_by: Mapped[str | None] = mapped_column(String(40))


class EquityFirstSearch(Base):
    """A client's first search, kept only until it can be turned into an elapsed time."""

    __tablename__ = "equity_first_searches"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    searched_at: Mapped[datetime] = mapped_column(index=True)
    fee_band: Mapped[str] = mapped_column(String(8))
    setting: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(2))
    language: Mapped[str] = mapped_column(String(8), default="")


class EquityCareStart(Base):
    """Anonymous: how long one client took from first search to booking and to first session.

    Null hours mean the client had not booked within 30 days of the first search.
    """

    __tablename__ = "equity_care_starts"

    id: Mapped[int] = mapped_column(primary_key=True)
    searched_on: Mapped[date] = mapped_column(Date, index=True)
    fee_band: Mapped[str] = mapped_column(String(8))
    setting: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(2))
    language: Mapped[str] = mapped_column(String(8), default="")
    hours_to_booking: Mapped[int | None]
    hours_to_first_session: Mapped[int | None]
