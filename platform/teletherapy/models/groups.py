"""Group therapy tables: groups (with the seat counter and its capacity checks), seats, waitlist.

Each meeting of a group is a `Booking` row (client_id NULL, group_id set) so the
therapist's time is guarded by the same exclusion constraint as individual sessions.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from teletherapy.clock import utcnow
from teletherapy.domain.groups import GroupStatus, SeatStatus, WaitlistStatus
from teletherapy.models.base import Base, status_column_type


class TherapyGroup(Base):
    """A group run by one therapist; `seats_taken` is the counter the capacity guard updates."""

    __tablename__ = "therapy_groups"
    __table_args__ = (
        CheckConstraint("seats_taken <= capacity", name="seats_within_capacity"),
        CheckConstraint("seats_taken >= 0", name="seats_not_negative"),
        CheckConstraint("capacity >= 1", name="capacity_positive"),
        CheckConstraint("fee_cents >= 0", name="fee_not_negative"),
        Index("ix_therapy_groups_status_starts_at", "status", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    therapist_id: Mapped[int] = mapped_column(
        ForeignKey("therapist_profiles.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(120))
    modality: Mapped[str] = mapped_column(String(40))
    setting: Mapped[str] = mapped_column(String(16))
    capacity: Mapped[int]
    seats_taken: Mapped[int] = mapped_column(default=0)
    # Per meeting and per client, like an individual session's fee.
    fee_cents: Mapped[int] = mapped_column(default=0)
    currency: Mapped[str] = mapped_column(String(3), default="usd")
    description: Mapped[str] = mapped_column(String(2000), default="")
    time_zone: Mapped[str] = mapped_column(String(64))  # meetings keep wall-clock time here
    status: Mapped[str] = mapped_column(String(16), default=GroupStatus.OPEN.value)
    # First meeting's start and last meeting's end (copied from the meeting bookings
    # for listing without a join).
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    cancelled_at: Mapped[datetime | None]

    @property
    def seats_left(self) -> int:
        return max(self.capacity - self.seats_taken, 0)


class GroupSeat(Base):
    """A client's place in a group, for all of its meetings."""

    __tablename__ = "group_seats"
    __table_args__ = (
        # One active seat per client per group (released seats are history).
        Index(
            "uq_group_seats_active",
            "group_id",
            "client_id",
            unique=True,
            sqlite_where=text("status = 'taken'"),
            postgresql_where=text("status = 'taken'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(
        ForeignKey("therapy_groups.id", ondelete="CASCADE"), index=True
    )
    client_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    status: Mapped[SeatStatus] = mapped_column(
        status_column_type(SeatStatus, 16), default=SeatStatus.TAKEN
    )
    taken_at: Mapped[datetime] = mapped_column(default=utcnow)
    released_at: Mapped[datetime | None]
    from_waitlist: Mapped[bool] = mapped_column(default=False)


class GroupWaitlistEntry(Base):
    """A client waiting for a seat in a full group; first come, first served."""

    __tablename__ = "group_waitlist_entries"
    __table_args__ = (
        Index(
            "uq_group_waitlist_entries_waiting",
            "group_id",
            "client_id",
            unique=True,
            sqlite_where=text("status = 'waiting'"),
            postgresql_where=text("status = 'waiting'"),
        ),
        Index("ix_group_waitlist_entries_group_id_created_at", "group_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("therapy_groups.id", ondelete="CASCADE"))
    client_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(String(16), default=WaitlistStatus.WAITING.value)
    offered_at: Mapped[datetime | None]
    offer_expires_at: Mapped[datetime | None]
