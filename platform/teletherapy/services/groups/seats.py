"""Seats and the waitlist of a group, members' sessions, and calling a group off.

Every seat or waitlist change first locks the group row, so changes to one group
run one at a time. A freed seat goes at once to the first client in line, who is
told by email in the same transaction (see groups.py for the whole policy).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from teletherapy.domain.errors import (
    ConflictError,
    NotFoundError,
    PermissionDenied,
)
from teletherapy.extensions import db
from teletherapy.gateways import public_url
from teletherapy.models import (
    ACTIVE_STATUSES,
    AvailabilitySettings,
    Booking,
    GroupSeat,
    GroupStatus,
    GroupWaitlistEntry,
    Role,
    SeatStatus,
    TherapyGroup,
    User,
    WaitlistStatus,
)
from teletherapy.services.availability.schedules import (
    settings_from_row,
)
from teletherapy.services.bookings import lifecycle
from teletherapy.services.calendars.invites import format_local
from teletherapy.services.groups.groups import (
    Membership,
    _atomic,
    _own_group,
    _rowcount,
    get_group,
)
from teletherapy.services.messaging import messages

logger = logging.getLogger(__name__)


# --- seats and waitlist -----------------------------------------------------------


def _active_seat(group_id: int, client_id: int) -> GroupSeat | None:
    return db.session.scalar(
        select(GroupSeat).where(
            GroupSeat.group_id == group_id,
            GroupSeat.client_id == client_id,
            GroupSeat.status == SeatStatus.TAKEN,
        )
    )


def _waiting_entry(group_id: int, client_id: int) -> GroupWaitlistEntry | None:
    return db.session.scalar(
        select(GroupWaitlistEntry).where(
            GroupWaitlistEntry.group_id == group_id,
            GroupWaitlistEntry.client_id == client_id,
            GroupWaitlistEntry.status == WaitlistStatus.WAITING.value,
        )
    )


def _waiting_in_order(group_id: int) -> Any:
    return (
        select(GroupWaitlistEntry)
        .where(
            GroupWaitlistEntry.group_id == group_id,
            GroupWaitlistEntry.status == WaitlistStatus.WAITING.value,
        )
        .order_by(GroupWaitlistEntry.created_at, GroupWaitlistEntry.id)
    )


def _position(entry: GroupWaitlistEntry) -> int:
    ahead = db.session.scalar(
        select(func.count(GroupWaitlistEntry.id)).where(
            GroupWaitlistEntry.group_id == entry.group_id,
            GroupWaitlistEntry.status == WaitlistStatus.WAITING.value,
            (GroupWaitlistEntry.created_at < entry.created_at)
            | (
                (GroupWaitlistEntry.created_at == entry.created_at)
                & (GroupWaitlistEntry.id < entry.id)
            ),
        )
    )
    return int(ahead or 0) + 1


def _client(client_id: int) -> User:
    user = db.session.get(User, client_id)
    if user is None or not user.is_active:
        raise NotFoundError("No such client.")
    if user.role != Role.CLIENT.value:
        raise PermissionDenied("Only clients take seats in groups.")
    return user


def _lock_group(group_id: int) -> TherapyGroup:
    """The group row, locked for this transaction (SQLite: the whole database already is)."""
    group = db.session.scalar(
        select(TherapyGroup)
        .where(TherapyGroup.id == group_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if group is None:
        raise NotFoundError("No such group.")
    return group


def _ensure_joinable(group: TherapyGroup, now: datetime) -> None:
    if group.status != GroupStatus.OPEN.value:
        raise ConflictError("This group is cancelled.", extra={"reason": "cancelled"})
    if now >= group.ends_at:
        raise ConflictError("This group has ended.", extra={"reason": "ended"})


def _claim_seat(group_id: int) -> bool:
    """The capacity guard: one more seat only while one is free, on every database."""
    result = db.session.execute(
        update(TherapyGroup)
        .where(
            TherapyGroup.id == group_id,
            TherapyGroup.status == GroupStatus.OPEN.value,
            TherapyGroup.seats_taken < TherapyGroup.capacity,
        )
        .values(seats_taken=TherapyGroup.seats_taken + 1)
        .execution_options(synchronize_session=False)
    )
    return _rowcount(result) == 1


def _free_seat(group_id: int) -> bool:
    result = db.session.execute(
        update(TherapyGroup)
        .where(TherapyGroup.id == group_id, TherapyGroup.seats_taken > 0)
        .values(seats_taken=TherapyGroup.seats_taken - 1)
        .execution_options(synchronize_session=False)
    )
    return _rowcount(result) == 1


@_atomic
def take_seat(*, group_id: int, client_id: int, now: datetime) -> GroupSeat:
    """Give the client a seat for the whole group: 409 when full (offering the waitlist)."""
    _client(client_id)
    group = get_group(group_id)
    _ensure_joinable(group, now)
    if _active_seat(group_id, client_id) is not None:
        raise _already_seated()
    if not _claim_seat(group_id):
        raise ConflictError(
            "This group is full. Join the waitlist and the next free seat is yours.",
            extra={
                "reason": "full",
                "waitlist": True,
                "on_waitlist": _waiting_entry(group_id, client_id) is not None,
            },
        )
    seat = GroupSeat(group_id=group_id, client_id=client_id, status=SeatStatus.TAKEN, taken_at=now)
    entry = _waiting_entry(group_id, client_id)
    if entry is not None:
        entry.status = WaitlistStatus.ACCEPTED.value
        entry.offered_at = now
    db.session.add(seat)
    try:
        db.session.flush()
        _add_member_sessions(group, client_id, now)
        db.session.commit()
    except IntegrityError:
        # The same client won a concurrent request (one active seat per client per group).
        db.session.rollback()
        raise _already_seated() from None
    logger.info("group seat taken group=%s client=%s", group_id, client_id)
    return seat


@_atomic
def join_waitlist(*, group_id: int, client_id: int, now: datetime) -> GroupWaitlistEntry:
    """Queue for a full group; the first in line gets the next freed seat."""
    _client(client_id)
    group = _lock_group(group_id)
    _ensure_joinable(group, now)
    if _active_seat(group_id, client_id) is not None:
        raise _already_seated()
    if group.seats_taken < group.capacity:
        raise ConflictError(
            "This group has free seats: take one instead.", extra={"reason": "seats_available"}
        )
    if _waiting_entry(group_id, client_id) is not None:
        raise _already_waiting()
    entry = GroupWaitlistEntry(
        group_id=group_id, client_id=client_id, status=WaitlistStatus.WAITING.value, created_at=now
    )
    db.session.add(entry)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise _already_waiting() from None
    logger.info("group waitlist joined group=%s client=%s", group_id, client_id)
    return entry


@_atomic
def leave_waitlist(*, group_id: int, client_id: int, now: datetime) -> None:
    _lock_group(group_id)
    entry = _waiting_entry(group_id, client_id)
    if entry is None:
        raise NotFoundError("You are not on this group's waitlist.")
    entry.status = WaitlistStatus.LEFT.value
    db.session.commit()


@_atomic
def leave_seat(*, group_id: int, client_id: int, now: datetime) -> GroupSeat | None:
    """Give up a seat; the first client in line gets it at once and is told by email.

    Returns the seat handed to the next client, or None when nobody was waiting.
    """
    group = _lock_group(group_id)
    seat = _active_seat(group_id, client_id)
    if seat is None:
        raise NotFoundError("You have no seat in this group.")
    seat.status = SeatStatus.RELEASED
    seat.released_at = now
    _cancel_member_sessions(group, client_id, now, by="client", reason="Left the group")
    db.session.flush()
    if not _free_seat(group_id):  # pragma: no cover - the CHECK constraint forbids it
        raise ConflictError("The seat count is inconsistent.", extra={"reason": "inconsistent"})
    handed: GroupSeat | None = None
    if group.status == GroupStatus.OPEN.value and now < group.ends_at:
        handed = _seat_first_waiting(group, now)
    db.session.commit()
    logger.info(
        "group seat released group=%s client=%s handed_to=%s",
        group_id,
        client_id,
        handed.client_id if handed else None,
    )
    return handed


def _future_meetings(group_id: int, now: datetime) -> list[Booking]:
    """The group's meeting rows (the therapist's) that have not started and still take place."""
    return list(
        db.session.scalars(
            select(Booking)
            .where(
                Booking.group_id == group_id,
                Booking.client_id.is_(None),
                Booking.status.in_(ACTIVE_STATUSES),
                Booking.start_at > now,
            )
            .order_by(Booking.start_at)
        )
    )


def _add_member_sessions(group: TherapyGroup, client_id: int, now: datetime) -> list[Booking]:
    """The member's own confirmed session for every meeting yet to start, invites included."""
    return lifecycle.add_member_sessions(
        group=group, client_id=client_id, meetings=_future_meetings(group.id, now), now=now
    )


def _cancel_member_sessions(
    group: TherapyGroup,
    client_id: int,
    now: datetime,
    *,
    by: Literal["client", "therapist"],
    reason: str | None,
) -> list[Booking]:
    """Cancel the member's sessions that have not started; notices and fees as for any session.

    A member leaving is a client cancellation: late inside the therapist's window.
    """
    rows = list(
        db.session.scalars(
            select(Booking)
            .where(
                Booking.group_id == group.id,
                Booking.client_id == client_id,
                Booking.status.in_(ACTIVE_STATUSES),
                Booking.start_at > now,
            )
            .order_by(Booking.start_at)
        )
    )
    if not rows:
        return rows
    window = settings_from_row(
        db.session.get(AvailabilitySettings, group.therapist_id), accepting_new_clients=True
    ).cancellation_window_hours
    lifecycle.cancel(rows, by=by, reason=reason, now=now, window_hours=window)
    return rows


def _seat_first_waiting(group: TherapyGroup, now: datetime) -> GroupSeat | None:
    """Seat the first waiting client (skipping any who are seated by now) and tell them."""
    for entry in db.session.scalars(_waiting_in_order(group.id)).all():
        if _active_seat(group.id, entry.client_id) is not None:
            entry.status = WaitlistStatus.ACCEPTED.value
            continue
        client = db.session.get(User, entry.client_id)
        if client is None or not client.is_active:
            entry.status = WaitlistStatus.EXPIRED.value
            continue
        if not _claim_seat(group.id):  # pragma: no cover - a seat was just freed under lock
            return None
        seat = GroupSeat(
            group_id=group.id,
            client_id=entry.client_id,
            status=SeatStatus.TAKEN,
            from_waitlist=True,
            taken_at=now,
        )
        db.session.add(seat)
        entry.status = WaitlistStatus.ACCEPTED.value
        entry.offered_at = now
        db.session.flush()
        _add_member_sessions(group, entry.client_id, now)
        _tell_seat_given(client=client, group=group, entry=entry, now=now)
        return seat
    return None


def _tell_seat_given(
    *, client: User, group: TherapyGroup, entry: GroupWaitlistEntry, now: datetime
) -> None:
    """Plain-text email: the seat is theirs. No title or description (they may be clinical)."""
    upcoming = db.session.scalar(
        select(Booking.start_at)
        .where(Booking.group_id == group.id, Booking.client_id.is_(None), Booking.start_at > now)
        .order_by(Booking.start_at)
        .limit(1)
    )
    messages.send_message(
        kind="waitlist_seat",
        person=client,
        context={
            "next_meeting": (
                format_local(upcoming, client.time_zone, messages.language_of(client))
                if upcoming is not None
                else None
            ),
            "time_zone": client.time_zone,
            "group_url": public_url(f"/groups/{group.id}"),
        },
        now=now,
        dedupe_key=f"waitlist-seat-{entry.id}",
    )


@_atomic
def cancel_group(
    *, group_id: int, therapist_user_id: int, now: datetime, reason: str = ""
) -> TherapyGroup:
    """The therapist calls a group off: its future meetings leave the calendar, members are told.

    Seats stay as a record of who belonged; waiting clients' entries expire.
    """
    cancel_reason = lifecycle.clean_reason(reason)
    _own_group(group_id, therapist_user_id)
    group = _lock_group(group_id)
    if group.status == GroupStatus.CANCELLED.value:
        raise ConflictError("This group is already cancelled.", extra={"reason": "cancelled"})
    group.status = GroupStatus.CANCELLED.value
    group.cancelled_at = now
    for member_id in db.session.scalars(
        select(GroupSeat.client_id).where(
            GroupSeat.group_id == group.id, GroupSeat.status == SeatStatus.TAKEN
        )
    ).all():
        _cancel_member_sessions(group, member_id, now, by="therapist", reason=cancel_reason)
    meetings = db.session.scalars(
        select(Booking).where(
            Booking.group_id == group.id,
            Booking.client_id.is_(None),
            Booking.start_at > now,
            Booking.status.in_(ACTIVE_STATUSES),
        )
    ).all()
    # The members are told by their own sessions' notices and the group notice below.
    lifecycle.cancel(
        meetings, by="therapist", reason=cancel_reason, now=now, window_hours=0, notify=False
    )
    for entry in db.session.scalars(_waiting_in_order(group.id)).all():
        entry.status = WaitlistStatus.EXPIRED.value
    members = db.session.scalars(
        select(User)
        .join(GroupSeat, GroupSeat.client_id == User.id)
        .where(GroupSeat.group_id == group.id, GroupSeat.status == SeatStatus.TAKEN)
    ).all()
    for member in members:
        messages.send_message(
            kind="group_cancelled",
            person=member,
            context={"group_url": public_url(f"/groups/{group.id}")},
            now=now,
            dedupe_key=f"group-cancelled-{group.id}-{member.id}",
        )
    db.session.commit()
    logger.info("group cancelled id=%s members=%s", group.id, len(members))
    return group


def get_membership(*, group_id: int, client_id: int) -> Membership:
    seated = _active_seat(group_id, client_id) is not None
    entry = _waiting_entry(group_id, client_id)
    return Membership(
        is_seated=seated, waitlist_position=_position(entry) if entry is not None else None
    )


def _already_seated() -> ConflictError:
    return ConflictError(
        "You already have a seat in this group.", extra={"reason": "already_seated"}
    )


def _already_waiting() -> ConflictError:
    return ConflictError(
        "You are already on this group's waitlist.", extra={"reason": "already_waiting"}
    )


@dataclass(frozen=True)
class SeatTerms:
    """What a seat taken now costs: shown on the confirm step before the seat is taken."""

    group: TherapyGroup
    meetings: tuple[Booking, ...]  # the meetings a seat taken now covers (not yet started)
    fee_cents: int  # per meeting
    currency: str

    @property
    def total_cents(self) -> int:
        return self.fee_cents * len(self.meetings)


def seat_terms(*, group_id: int, now: datetime) -> SeatTerms:
    """Price per meeting, the meetings still to come and their total, for taking a seat now."""
    group = get_group(group_id)
    return SeatTerms(
        group=group,
        meetings=tuple(_future_meetings(group.id, now)),
        fee_cents=group.fee_cents,
        currency=group.currency,
    )
