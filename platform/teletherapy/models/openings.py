"""Each therapist's next opening per setting, kept current with their calendar."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from teletherapy.models.base import Base


class TherapistOpening(Base):
    """The first slot a new client could book, per setting, as of `computed_at`.

    Written in the same transaction as any change to the therapist's calendar
    (services/availability/openings.py) and by the dispatcher's job when time moves on.
    The answer holds until `valid_until`: the first instant at which the passing of
    time alone could change it (a slot falling inside the minimum notice, a hold
    expiring, the horizon moving over a setting with no opening).
    """

    __tablename__ = "therapist_openings"

    therapist_id: Mapped[int] = mapped_column(
        ForeignKey("therapist_profiles.id", ondelete="CASCADE"), primary_key=True
    )
    online_at: Mapped[datetime | None]
    in_office_at: Mapped[datetime | None]
    home_at: Mapped[datetime | None]
    any_at: Mapped[datetime | None]  # the engine's answer for "any setting"
    computed_at: Mapped[datetime]
    valid_until: Mapped[datetime] = mapped_column(index=True)
