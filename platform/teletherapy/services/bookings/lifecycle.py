"""The booking lifecycle: the only code that creates booking rows or changes their status.

Every state change of a session happens here, inside the caller's transaction
(the caller holds the therapist's calendar lock or the booking row's lock, and
commits once): book or hold, confirm, expire, cancel (one path, one reason
rule), move, complete or no-show, group meetings and group members' sessions.
Each change tells the people involved (messaging) and records what it costs
(the hooks the payments package registers, see `hooks.py`), so no
caller can forget either.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, text, update

from teletherapy.domain.booking import (
    BookingStatus,
    blocked_interval,
    can_transition,
    is_late_cancellation,
)
from teletherapy.domain.errors import ConflictError, ValidationError
from teletherapy.extensions import db
from teletherapy.gateways import video_rooms
from teletherapy.models import Booking, BookingSeries, TherapyGroup
from teletherapy.services.bookings import hooks
from teletherapy.services.messaging import notifications

logger = logging.getLogger(__name__)

MAX_REASON_LENGTH = 500
# `cancelled_by` of the old half of a booking that was moved to a new time.
RESCHEDULE = "reschedule"

CancelledBy = Literal["client", "therapist", "system"]


@dataclass(frozen=True)
class NewSession:
    """What a new individual session needs besides its parties and price."""

    start: datetime
    end: datetime
    setting: str
    time_zone: str
    buffer_minutes: int
    travel_buffer_minutes: int


def clean_reason(reason: str | None) -> str | None:
    """THE reason rule: stripped, empty means none, over 500 characters is refused."""
    cleaned = (reason or "").strip() or None
    if cleaned is not None and len(cleaned) > MAX_REASON_LENGTH:
        raise ValidationError(
            "Reason too long.",
            errors={"reason": [f"At most {MAX_REASON_LENGTH} characters."]},
        )
    return cleaned


# --- creating rows ------------------------------------------------------------------


def _session_row(
    session: NewSession,
    *,
    therapist_id: int,
    client_id: int,
    status: BookingStatus,
    fee_cents: int,
    fee_band: str | None,
    now: datetime,
    series_id: int | None = None,
    hold_until: datetime | None = None,
    video_room: str | None = None,
) -> Booking:
    """One individual session's row, its blocked interval from the setting's buffers."""
    blocked = blocked_interval(
        session.start,
        session.end,
        session.setting,
        session.buffer_minutes,
        session.travel_buffer_minutes,
    )
    return Booking(
        therapist_id=therapist_id,
        client_id=client_id,
        series_id=series_id,
        status=status,
        hold_expires_at=hold_until,
        setting=session.setting,
        start_at=session.start,
        end_at=session.end,
        blocked_start_at=blocked.start,
        blocked_end_at=blocked.end,
        time_zone=session.time_zone,
        fee_cents=fee_cents,
        fee_band=fee_band,
        video_room=video_room,
        created_at=now,
        updated_at=now,
    )


@dataclass(frozen=True)
class PreparedSession:
    """A confirmed single session's row (its id taken from the sequence) and everything
    it announces, made before the therapist's calendar is locked."""

    row: Booking
    notices: notifications.PreparedNotices


def prepare_session(
    *,
    therapist_id: int,
    client_id: int,
    session: NewSession,
    fee_cents: int,
    fee_band: str | None,
    now: datetime,
) -> PreparedSession | None:
    """Write a new session's invites and reminders before the lock (`add_sessions` then adds
    them): about half of a winner's time under the lock went to writing them.

    PostgreSQL only: the notices name the booking's id, taken here with `nextval` (a
    booking refused later leaves a gap in the ids). On SQLite every writing transaction
    is serialised from its start, so nothing would move out of the lock: None.
    """
    if db.session.get_bind().dialect.name != "postgresql":
        return None
    row = _session_row(
        session,
        therapist_id=therapist_id,
        client_id=client_id,
        status=BookingStatus.CONFIRMED,
        fee_cents=fee_cents,
        fee_band=fee_band,
        now=now,
        video_room=video_rooms().new_room() if session.setting == "online" else None,
    )
    row.id = db.session.scalar(text("SELECT nextval(pg_get_serial_sequence('bookings', 'id'))"))
    row.ics_sequence = 0
    notices = notifications.prepare_booking_confirmed(booking=row, now=now)
    return PreparedSession(row=row, notices=notices)


def add_sessions(
    *,
    therapist_id: int,
    client_id: int,
    sessions: Sequence[NewSession],
    fee_cents: int,
    fee_band: str | None,
    series_id: int | None,
    hold_until: datetime | None,
    now: datetime,
    prepared: PreparedSession | None = None,
) -> list[Booking]:
    """Book (confirmed) or hold (until `hold_until`) individual sessions; flushed.

    A confirmed session is announced at once; a held one when it is confirmed.
    `prepared`: from `prepare_session` for the one session booked; its id and notices are
    used (the notices only if the row is still the one they were written for).
    """
    rooms = video_rooms()
    rows = [
        _session_row(
            session,
            therapist_id=therapist_id,
            client_id=client_id,
            status=BookingStatus.HELD if hold_until else BookingStatus.CONFIRMED,
            fee_cents=fee_cents,
            fee_band=fee_band,
            now=now,
            series_id=series_id,
            hold_until=hold_until,
            video_room=(
                (prepared.row.video_room if prepared else rooms.new_room())
                if session.setting == "online"
                else None
            ),
        )
        for session in sessions
    ]
    if prepared is not None:
        assert len(rows) == 1, "a prepared session is booked alone"
        rows[0].id, rows[0].ics_sequence = prepared.row.id, 0
    db.session.add_all(rows)
    db.session.flush()
    if hold_until is None:
        for row in rows:
            notifications.on_booking_confirmed(
                booking=row, now=now, fresh=True, prepared=prepared.notices if prepared else None
            )
    return rows


def add_past_sessions(
    *,
    therapist_id: int,
    client_id: int,
    sessions: Sequence[NewSession],
    fee_cents: int,
    fee_band: str | None,
    now: datetime,
) -> list[Booking]:
    """Sessions that already took place, recorded as completed (history: the demo seed).

    Nobody is told and nothing is charged; the caller checks they do not overlap.
    """
    rows = [
        _session_row(
            session,
            therapist_id=therapist_id,
            client_id=client_id,
            status=BookingStatus.COMPLETED,
            fee_cents=fee_cents,
            fee_band=fee_band,
            now=now,
        )
        for session in sessions
    ]
    db.session.add_all(rows)
    db.session.flush()
    return rows


def add_group_meetings(
    *,
    group: TherapyGroup,
    meetings: Sequence[tuple[datetime, datetime, datetime, datetime]],
    now: datetime,
) -> list[Booking]:
    """The therapist's own row for each meeting of a new group: (start, end, blocked start,
    blocked end). Online meetings get a video room each, which members' sessions share."""
    rooms = video_rooms()
    rows = [
        Booking(
            therapist_id=group.therapist_id,
            client_id=None,
            group_id=group.id,
            status=BookingStatus.CONFIRMED,
            setting=group.setting,
            start_at=start,
            end_at=end,
            blocked_start_at=blocked_start,
            blocked_end_at=blocked_end,
            time_zone=group.time_zone,
            video_room=rooms.new_room() if group.setting == "online" else None,
            created_at=now,
            updated_at=now,
        )
        for start, end, blocked_start, blocked_end in meetings
    ]
    db.session.add_all(rows)
    db.session.flush()
    return rows


def add_member_sessions(
    *, group: TherapyGroup, client_id: int, meetings: Sequence[Booking], now: datetime
) -> list[Booking]:
    """A seated member's own confirmed session for each meeting, invites included.

    No buffer: the rows never block the therapist's time (the meeting rows do).
    The rows form one weekly series, so the member gets ONE email with ONE recurring
    invite (weeks without a meeting as exceptions), not one per meeting; a meeting
    cancelled later removes its week from that same event.
    """
    if not meetings:
        return []
    zone = ZoneInfo(group.time_zone)
    first_day = meetings[0].start_at.astimezone(zone).date()
    last_day = meetings[-1].start_at.astimezone(zone).date()
    series = BookingSeries(
        therapist_id=group.therapist_id,
        client_id=client_id,
        time_zone=group.time_zone,
        count=(last_day - first_day).days // 7 + 1,
        setting=meetings[0].setting,
        created_at=now,
    )
    db.session.add(series)
    db.session.flush()
    rows = [
        Booking(
            therapist_id=group.therapist_id,
            client_id=client_id,
            group_id=group.id,
            series_id=series.id,
            status=BookingStatus.CONFIRMED,
            setting=meeting.setting,
            start_at=meeting.start_at,
            end_at=meeting.end_at,
            blocked_start_at=meeting.start_at,
            blocked_end_at=meeting.end_at,
            fee_cents=group.fee_cents,
            currency=group.currency,
            fee_band=None,
            time_zone=group.time_zone,
            video_room=meeting.video_room,
            created_at=now,
            updated_at=now,
        )
        for meeting in meetings
    ]
    db.session.add_all(rows)
    db.session.flush()
    notifications.on_booking_confirmed(booking=rows[0], now=now)  # the whole series
    return rows


# --- changing status ----------------------------------------------------------------


def confirm(booking: Booking, *, now: datetime) -> None:
    """A held booking becomes confirmed (paid, or to be paid at the session); announced.

    The caller holds the lock that makes this safe (the therapist's calendar, or the
    booking row in the payment flows).
    """
    booking.status = BookingStatus.CONFIRMED
    booking.hold_expires_at = None
    booking.updated_at = now
    notifications.on_booking_confirmed(booking=booking, now=now)


# Lapsed holds, everyone's or one therapist's (each booking asks, under the calendar
# lock): built once.
_EXPIRE_ALL = (
    update(Booking)
    .where(Booking.status == BookingStatus.HELD, Booking.hold_expires_at <= bindparam("at"))
    .values(status=BookingStatus.EXPIRED, updated_at=bindparam("at"))
    .execution_options(synchronize_session=False)
)
_EXPIRE_ONES = _EXPIRE_ALL.where(Booking.therapist_id == bindparam("whose"))


def expire_lapsed_holds(*, now: datetime, therapist_id: int | None = None) -> int:
    """Holds that ran out unpaid become "expired" (one therapist's, or everyone's)."""
    if therapist_id is None:
        result = db.session.execute(_EXPIRE_ALL, {"at": now})
    else:
        result = db.session.execute(_EXPIRE_ONES, {"at": now, "whose": therapist_id})
    return int(getattr(result, "rowcount", 0) or 0)


def cancel(
    rows: Sequence[Booking],
    *,
    by: CancelledBy,
    reason: str | None,
    now: datetime,
    window_hours: int,
    notify: bool = True,
) -> None:
    """THE cancel path: every row cancelled alike, then each party told and the ledger
    asked for the refund or late-cancel fee.

    `reason` must already have passed `clean_reason`. `notify=False` only for a
    group meeting's own rows when the whole group is called off (the members are
    told by their own rows and the group notice).
    """
    for row in rows:
        row.status = BookingStatus.CANCELLED
        row.cancelled_at = now
        row.cancelled_by = by
        row.cancel_reason = reason
        row.is_late_cancellation = by != "system" and is_late_cancellation(
            row.start_at, now, window_hours, by
        )
        row.updated_at = now
    db.session.flush()
    if notify:
        for row in rows:
            notifications.on_booking_cancelled(booking=row, now=now)
            hooks.payments().on_cancelled(booking=row, now=now)
    logger.info("cancelled bookings=%s by=%s", [r.id for r in rows], by)


def move(
    old: Booking,
    *,
    new: NewSession,
    now: datetime,
) -> Booking:
    """Reschedule: the old row is released (cancelled, `cancelled_by="reschedule"`) and a new
    row claims the new time, pointing back. Released first and flushed, so a move to an
    overlapping time does not trip the exclusion constraint on the pair itself."""
    old.status = BookingStatus.CANCELLED
    old.cancelled_at = now
    old.cancelled_by = RESCHEDULE
    old.updated_at = now
    db.session.flush()
    blocked = blocked_interval(
        new.start, new.end, new.setting, new.buffer_minutes, new.travel_buffer_minutes
    )
    # A held booking stays held (payment still pending); anything else is confirmed.
    row = Booking(
        therapist_id=old.therapist_id,
        client_id=old.client_id,
        group_id=old.group_id,
        series_id=old.series_id,
        status=BookingStatus.HELD if old.hold_expires_at is not None else BookingStatus.CONFIRMED,
        hold_expires_at=old.hold_expires_at,
        setting=old.setting,
        start_at=new.start,
        end_at=new.end,
        blocked_start_at=blocked.start,
        blocked_end_at=blocked.end,
        time_zone=new.time_zone,
        fee_cents=old.fee_cents,
        currency=old.currency,
        fee_band=old.fee_band,
        video_room=old.video_room,
        ics_sequence=old.ics_sequence,
        rescheduled_from_id=old.id,
        created_at=now,
        updated_at=now,
    )
    db.session.add(row)
    db.session.flush()
    # The hook keeps the calendar identity (UID) of `old` and raises SEQUENCE.
    notifications.on_booking_rescheduled(old=old, new=row, now=now)
    return row


def record_attendance(booking: Booking, *, status: BookingStatus, now: datetime) -> None:
    """A session that took place is completed, or a no-show (which costs the late fee)."""
    if status not in (BookingStatus.COMPLETED, BookingStatus.NO_SHOW) or not can_transition(
        booking.status, status
    ):
        raise ConflictError(
            f"A {str(booking.status).replace('_', ' ')} session cannot be marked "
            f"{status.value.replace('_', ' ')}.",
            extra={"reason": "invalid_transition"},
        )
    booking.status = status
    booking.updated_at = now
    if status is BookingStatus.NO_SHOW:
        hooks.payments().on_no_show(booking=booking, now=now)
