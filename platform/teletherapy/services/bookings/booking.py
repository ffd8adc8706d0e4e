"""Booking use cases: slots, book (single or weekly series), reschedule, cancel, attendance.

How a booking stays single under any concurrency
-------------------------------------------------
Every write that claims or releases a therapist's time runs in ONE transaction
that first takes that therapist's lock: ``pg_advisory_xact_lock(therapist_id)``
on PostgreSQL; on SQLite every transaction is ``BEGIN IMMEDIATE`` (app.py), so
writers are already serialised. Under the lock the service marks lapsed holds
"expired", loads the schedule, asks the slot engine (``check_bookable``) and
inserts. Concurrent losers therefore wait for the lock, then see the winner's
row and get a clean 409 ("taken"). The PostgreSQL exclusion constraint
``no_overlapping_sessions`` is the last line: if it ever fires, the
IntegrityError becomes the same 409, never a 500.

Choices
-------
* Statuses: ``held`` (with ``hold_expires_at``) and ``confirmed`` block time;
  ``completed``, ``no_show``, ``cancelled`` and ``expired`` (a lapsed hold, set
  under the lock before anything new is inserted, because the exclusion
  constraint sees every ``held`` row) do not.
* Reschedule keeps history: the old row becomes ``cancelled`` with
  ``cancelled_by="reschedule"`` and the new row points back with
  ``rescheduled_from_id``. Both changes are one transaction under the lock, so
  no other transaction can see the old time released without the new time
  claimed; a failed move rolls back and leaves the original untouched. Inside
  the transaction the old row is released (flushed) *before* the new row is
  inserted, so a move to an overlapping time (30 minutes later) does not trip
  the exclusion constraint on the pair itself.
* A weekly series is all or nothing; a 409 lists every conflicting date. Its
  first session must respect the booking horizon; later ones may run past it
  (a 12-week series with a 60-day horizon) but must each be a free slot on the
  therapist's weekly grid, within the day and week caps.
* Idempotency-Key: the record (key, hash of the request, the booking ids) is
  written in the booking's own transaction; a retry with the same key and the
  same request returns the same booking(s), with a different request a 422.
  A request that failed (409, 422) stored nothing, so retrying it tries again.
* "New client" = no earlier booking with this therapist that was not cancelled.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from flask import current_app
from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError

from teletherapy.domain.availability import SETTINGS
from teletherapy.domain.booking import (
    BookingStatus,
    blocked_interval,
    can_transition,
    is_late_cancellation,
    join_window_open,
    weekly_series_starts,
)
from teletherapy.domain.errors import ConflictError, NotFoundError, ValidationError
from teletherapy.domain.slots import BookedSession, Schedule, Slot, check_bookable, generate_slots
from teletherapy.extensions import db
from teletherapy.gateways.video import video_rooms_from_config
from teletherapy.models import (
    ACTIVE_STATUSES,
    AccountStatus,
    Booking,
    BookingSeries,
    IdempotencyRecord,
    Role,
    TherapistProfile,
    User,
)
from teletherapy.models import AvailabilitySettings as SettingsRow
from teletherapy.services.availability.schedules import (
    is_therapist_time,
    load_schedule,
    lock_therapist_calendar,
)
from teletherapy.services.equity import recording as equity_recording
from teletherapy.services.matching import search as matching
from teletherapy.services.messaging import notifications
from teletherapy.services.payments import payments

logger = logging.getLogger(__name__)

EXPIRED = "expired"
RESCHEDULE = "reschedule"  # cancelled_by of a booking that was moved to a new time
MAX_SLOT_RANGE_DAYS = 62
SERIES_WEEKS = (2, 52)
MAX_HOLD_MINUTES = 24 * 60
DEFAULT_CANCELLATION_WINDOW_HOURS = 24
_INACTIVE_FOR_NEW_CLIENT = ("cancelled", EXPIRED)
SETTINGS_ORDER = ("online", "in_office", "home")

CancelScope = Literal["one", "future"]
Attendance = Literal["completed", "no_show"]
When = Literal["all", "upcoming", "past"]


def isoformat_z(value: datetime) -> str:
    """An instant as the API writes it: UTC with a `Z`."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- reading ----------------------------------------------------------------------


@dataclass(frozen=True)
class TherapistCalendar:
    """What a booking page needs to know about a therapist besides the slots."""

    therapist_id: int
    display_name: str
    time_zone: str
    session_minutes: int
    settings_offered: tuple[str, ...]
    cancellation_window_hours: int


def get_therapist_calendar(*, therapist_id: int, now: datetime) -> TherapistCalendar:
    profile = _active_therapist(therapist_id)
    schedule = _schedule(therapist_id, now=now)
    offered = {rule.setting for rule in schedule.rules} | {
        o.setting for o in schedule.overrides if o.available and o.setting
    }
    return TherapistCalendar(
        therapist_id=therapist_id,
        display_name=profile.display_name,
        time_zone=schedule.settings.time_zone,
        session_minutes=schedule.settings.session_minutes,
        settings_offered=tuple(s for s in SETTINGS_ORDER if s in offered),
        cancellation_window_hours=schedule.settings.cancellation_window_hours,
    )


def list_slots(
    *,
    therapist_id: int,
    from_date: date,
    to_date: date,
    setting: str | None,
    now: datetime,
    is_new_client: bool,
    exclude_booking_ids: Sequence[int] = (),
) -> list[Slot]:
    """Offered slots starting on the therapist's local dates `from_date`..`to_date`."""
    errors: dict[str, list[str]] = {}
    if to_date < from_date:
        errors["to"] = ["The end date is before the start date."]
    elif (to_date - from_date).days >= MAX_SLOT_RANGE_DAYS:
        errors["to"] = [f"Ask for at most {MAX_SLOT_RANGE_DAYS} days at a time."]
    if setting is not None and setting not in SETTINGS:
        errors["setting"] = [f"'{setting}' is not a setting."]
    if errors:
        raise ValidationError("Invalid date range or setting.", errors=errors)
    _active_therapist(therapist_id)
    schedule = _schedule(therapist_id, now=now, exclude_booking_ids=exclude_booking_ids)
    return generate_slots(
        schedule.settings,
        schedule.rules,
        schedule.overrides,
        schedule.booked,
        now,
        from_date,
        to_date,
        setting,
        busy=schedule.busy,
        is_new_client=is_new_client,
    )


def is_new_client(*, client_id: int, therapist_id: int) -> bool:
    """True when the client has no booking with this therapist that was not cancelled."""
    earlier = db.session.scalar(
        select(Booking.id)
        .where(
            Booking.client_id == client_id,
            Booking.therapist_id == therapist_id,
            Booking.status.not_in(_INACTIVE_FOR_NEW_CLIENT),
            # A seat in a group does not make someone an individual client.
            is_therapist_time(),
        )
        .limit(1)
    )
    return earlier is None


def list_bookings_for(
    *,
    user_id: int,
    now: datetime,
    when: When = "all",
    start_from: datetime | None = None,
    start_before: datetime | None = None,
) -> list[Booking]:
    """The sessions a person is party to (client or therapist), expired holds and the
    old halves of reschedules left out. Upcoming: active and not over, soonest first;
    past: everything else, latest first."""
    user = db.session.get(User, user_id)
    if user is None:
        return []
    query = select(Booking).where(
        Booking.status != EXPIRED,
        or_(Booking.cancelled_by.is_(None), Booking.cancelled_by != RESCHEDULE),
    )
    if user.role == Role.THERAPIST.value and user.therapist_id is not None:
        # A group meeting is listed once (its own row), not once per member.
        query = query.where(Booking.therapist_id == user.therapist_id, is_therapist_time())
    elif user.role == Role.CLIENT.value:
        query = query.where(Booking.client_id == user_id)
    else:
        return []
    if start_from is not None:
        query = query.where(Booking.start_at >= start_from)
    if start_before is not None:
        query = query.where(Booking.start_at < start_before)
    upcoming = (
        Booking.status.in_(ACTIVE_STATUSES)
        & (Booking.end_at > now)
        & or_(Booking.hold_expires_at.is_(None), Booking.hold_expires_at > now)
    )
    if when == "upcoming":
        query = query.where(upcoming).order_by(Booking.start_at, Booking.id)
    elif when == "past":
        query = query.where(~upcoming).order_by(Booking.start_at.desc(), Booking.id.desc())
    else:
        query = query.order_by(Booking.start_at, Booking.id)
    return list(db.session.scalars(query))


def get_booking_for(*, booking_id: int, user_id: int) -> Booking:
    """The booking if `user_id` is its client or its therapist; a 404 otherwise."""
    booking = db.session.get(Booking, booking_id)
    if booking is None or _party(booking, user_id) is None:
        raise NotFoundError("No such session.")
    return booking


@dataclass(frozen=True)
class CancellationPreview:
    """What cancelling now would mean, shown before the person confirms."""

    by: Literal["client", "therapist"]
    is_late: bool
    window_hours: int


def preview_cancellation(*, booking_id: int, user_id: int, now: datetime) -> CancellationPreview:
    booking = get_booking_for(booking_id=booking_id, user_id=user_id)
    by = _party(booking, user_id)
    assert by is not None  # get_booking_for checked
    window = _cancellation_window(booking.therapist_id)
    return CancellationPreview(
        by=by,
        is_late=is_late_cancellation(booking.start_at, now, window, by),
        window_hours=window,
    )


def join_link(*, booking: Booking, now: datetime) -> str | None:
    """The video URL while the join window is open (15 minutes before until the end)."""
    if (
        booking.setting != "online"
        or not booking.video_room
        or booking.status != BookingStatus.CONFIRMED.value
        or not join_window_open(booking.start_at, booking.end_at, now)
    ):
        return None
    rooms = video_rooms_from_config(current_app.config.get("VIDEO_BASE_URL"))
    return rooms.join_url(booking.video_room)


def is_changeable(booking: Booking, now: datetime) -> bool:
    """True while a session can still be cancelled or moved: active and not yet started."""
    try:
        _require_changeable(booking, now)
    except ConflictError:
        return False
    return True


# --- booking ----------------------------------------------------------------------


def _price_for(
    *, therapist_id: int, client_id: int, setting: str, now: datetime
) -> tuple[int, str | None]:
    """THE one place that prices a session: (fee_cents, fee_band) for this client.

    A client can book only a therapist matching would show them (licensed in their
    state, within reach, their band accepted with reduced-fee capacity left, ...):
    a 409 names the filter otherwise. The price is the therapist's price for the
    client's band, stored on the booking so later price changes do not touch it.
    """
    matching.check_can_book(
        therapist_id=therapist_id, client_id=client_id, setting=setting, now=now
    )
    return matching.price_for_client(therapist_id=therapist_id, client_id=client_id)


def book_session(
    *,
    client_id: int,
    therapist_id: int,
    start: datetime,
    setting: str,
    now: datetime,
    repeat_weekly: int | None = None,
    idempotency_key: str | None = None,
    hold_minutes: int | None = None,
) -> Booking | list[Booking]:
    """Book one session (or a weekly series: the list) in one transaction; see module doc."""
    _validate_booking_request(start, setting, repeat_weekly, hold_minutes, idempotency_key)
    request_hash = _request_hash(
        therapist_id=therapist_id,
        start=isoformat_z(start),
        setting=setting,
        repeat_weekly=repeat_weekly,
        hold_minutes=hold_minutes,
    )
    try:
        return _book(
            client_id=client_id,
            therapist_id=therapist_id,
            start=start.astimezone(UTC),
            setting=setting,
            now=now,
            repeat_weekly=repeat_weekly,
            idempotency_key=idempotency_key,
            request_hash=request_hash,
            hold_minutes=hold_minutes,
        )
    except IntegrityError:
        db.session.rollback()
        if idempotency_key:
            # A concurrent request with the same key may have won the unique index.
            record = _find_record(client_id, idempotency_key)
            if record is not None:
                return _replay(record, request_hash)
        logger.info("booking refused by the overlap constraint therapist=%s", therapist_id)
        raise _taken() from None
    except BaseException:
        db.session.rollback()
        raise


def _book(
    *,
    client_id: int,
    therapist_id: int,
    start: datetime,
    setting: str,
    now: datetime,
    repeat_weekly: int | None,
    idempotency_key: str | None,
    request_hash: str,
    hold_minutes: int | None,
) -> Booking | list[Booking]:
    lock_therapist_calendar(therapist_id)
    if idempotency_key:
        record = _find_record(client_id, idempotency_key)
        if record is not None:
            return _replay(record, request_hash)
    client = db.session.get(User, client_id)
    if client is None or client.role != Role.CLIENT.value or not client.is_active:
        raise ValidationError(
            "Only clients can book sessions.", errors={"client": ["Not a client."]}
        )
    _active_therapist(therapist_id)
    _expire_holds(therapist_id, now)
    schedule = _schedule(therapist_id, now=now)
    new_client = is_new_client(client_id=client_id, therapist_id=therapist_id)
    zone = schedule.settings.time_zone
    if repeat_weekly is None:
        check_bookable(
            schedule.settings,
            schedule.rules,
            schedule.overrides,
            schedule.booked,
            now,
            start,
            setting,
            busy=schedule.busy,
            is_new_client=new_client,
        )
        starts = [start]
    else:
        starts = weekly_series_starts(start, zone, repeat_weekly)
        _check_series(schedule, starts, setting, now=now, is_new_client=new_client)

    fee_cents, fee_band = _price_for(
        therapist_id=therapist_id, client_id=client_id, setting=setting, now=now
    )
    series: BookingSeries | None = None
    if repeat_weekly is not None:
        series = BookingSeries(
            therapist_id=therapist_id,
            client_id=client_id,
            time_zone=zone,
            count=repeat_weekly,
            setting=setting,
            created_at=now,
        )
        db.session.add(series)
        db.session.flush()
    rooms = video_rooms_from_config(current_app.config.get("VIDEO_BASE_URL"))
    session = timedelta(minutes=schedule.settings.session_minutes)
    bookings: list[Booking] = []
    for occurrence in starts:
        end = occurrence + session
        blocked = blocked_interval(
            occurrence,
            end,
            setting,
            schedule.settings.buffer_minutes,
            schedule.settings.travel_buffer_minutes,
        )
        bookings.append(
            Booking(
                therapist_id=therapist_id,
                client_id=client_id,
                series_id=series.id if series else None,
                status="held" if hold_minutes else BookingStatus.CONFIRMED.value,
                hold_expires_at=now + timedelta(minutes=hold_minutes) if hold_minutes else None,
                setting=setting,
                start_at=occurrence,
                end_at=end,
                blocked_start_at=blocked.start,
                blocked_end_at=blocked.end,
                time_zone=zone,
                fee_cents=fee_cents,
                fee_band=fee_band,
                video_room=rooms.new_room() if setting == "online" else None,
                created_at=now,
                updated_at=now,
            )
        )
    db.session.add_all(bookings)
    db.session.flush()
    if idempotency_key:
        db.session.add(
            IdempotencyRecord(
                user_id=client_id,
                key=idempotency_key,
                request_hash=request_hash,
                status_code=201,
                body={"booking_ids": [b.id for b in bookings], "series": series is not None},
                created_at=now,
            )
        )
        db.session.flush()
    equity_recording.record_first_booking(client_id=client_id, first_start=starts[0], now=now)
    if not hold_minutes:
        # A held booking is announced when it is confirmed (confirm_hold).
        for booking in bookings:
            notifications.on_booking_confirmed(booking=booking, now=now)
    db.session.commit()
    logger.info(
        "booked ids=%s therapist=%s client=%s",
        [b.id for b in bookings],
        therapist_id,
        client_id,
    )
    return bookings if series is not None else bookings[0]


def _check_series(
    schedule: Schedule,
    starts: Sequence[datetime],
    setting: str,
    *,
    now: datetime,
    is_new_client: bool,
) -> None:
    """Check every week; raise one 409 listing each conflicting date and its reason."""
    later_horizon = max(schedule.settings.horizon_days, (starts[-1] - now).days + 1)
    later_settings = replace(schedule.settings, horizon_days=later_horizon)
    session = timedelta(minutes=schedule.settings.session_minutes)
    booked = list(schedule.booked)
    conflicts: list[dict[str, str]] = []
    for index, occurrence in enumerate(starts):
        try:
            check_bookable(
                schedule.settings if index == 0 else later_settings,
                schedule.rules,
                schedule.overrides,
                booked,
                now,
                occurrence,
                setting,
                busy=schedule.busy,
                is_new_client=is_new_client,
            )
        except ConflictError as exc:
            conflicts.append({"start": isoformat_z(occurrence), "reason": exc.extra["reason"]})
        else:
            # Earlier weeks of the series count towards the day and week caps.
            booked.append(BookedSession(occurrence, occurrence + session, setting))
    if conflicts:
        dates = ", ".join(c["start"][:10] for c in conflicts)
        raise ConflictError(
            f"{len(conflicts)} of the {len(starts)} weekly sessions cannot be booked ({dates}); "
            "nothing was booked.",
            extra={"reason": "series_conflict", "conflicts": conflicts},
        )


def confirm_hold(*, booking_id: int, now: datetime) -> Booking:
    """Confirm a held booking whose hold has not lapsed (called once payment succeeds)."""
    booking = db.session.get(Booking, booking_id)
    if booking is None:
        raise NotFoundError("No such session.")
    try:
        lock_therapist_calendar(booking.therapist_id)
        booking = _reload(booking_id)
        if booking.status != "held" or (
            booking.hold_expires_at is not None and booking.hold_expires_at <= now
        ):
            raise ConflictError(
                "This hold has lapsed; please choose a time again.", extra={"reason": "expired"}
            )
        mark_confirmed(booking, now=now)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return booking


def mark_confirmed(booking: Booking, *, now: datetime) -> None:
    """Turn a held booking into a confirmed one inside the caller's transaction.

    The caller holds the lock that makes this safe (the therapist's here, the
    booking row's in the payment flows) and commits.
    """
    booking.status = BookingStatus.CONFIRMED.value
    booking.hold_expires_at = None
    booking.updated_at = now
    notifications.on_booking_confirmed(booking=booking, now=now)


# --- changing a booking -------------------------------------------------------------


def reschedule_booking(
    *, booking_id: int, actor_id: int, new_start: datetime, now: datetime
) -> Booking:
    """Move a session to a free slot in one transaction; returns the new booking."""
    if new_start.tzinfo is None or new_start.utcoffset() is None:
        raise ValidationError(
            "Give the new start with its time zone.", errors={"start": ["Include an offset."]}
        )
    new_start = new_start.astimezone(UTC)
    booking = get_booking_for(booking_id=booking_id, user_id=actor_id)
    therapist_id = booking.therapist_id
    try:
        lock_therapist_calendar(therapist_id)
        old = _reload(booking_id)
        _require_changeable(old, now)
        if old.group_id is not None:
            raise ConflictError(
                "A group meeting cannot be moved on its own.", extra={"reason": "group"}
            )
        _expire_holds(therapist_id, now)
        schedule = _schedule(therapist_id, now=now, exclude_booking_ids=[old.id])
        check_bookable(
            schedule.settings,
            schedule.rules,
            schedule.overrides,
            schedule.booked,
            now,
            new_start,
            old.setting,
            busy=schedule.busy,
            is_new_client=False,  # they already have this session with the therapist
        )
        end = new_start + timedelta(minutes=schedule.settings.session_minutes)
        blocked = blocked_interval(
            new_start,
            end,
            old.setting,
            schedule.settings.buffer_minutes,
            schedule.settings.travel_buffer_minutes,
        )
        # Release, then claim, inside this one transaction (see the module doc).
        old.status = BookingStatus.CANCELLED.value
        old.cancelled_at = now
        old.cancelled_by = RESCHEDULE
        old.updated_at = now
        db.session.flush()
        new = Booking(
            therapist_id=therapist_id,
            client_id=old.client_id,
            group_id=old.group_id,
            series_id=old.series_id,
            status=_status_after_move(old),
            hold_expires_at=old.hold_expires_at,
            setting=old.setting,
            start_at=new_start,
            end_at=end,
            blocked_start_at=blocked.start,
            blocked_end_at=blocked.end,
            time_zone=schedule.settings.time_zone,
            fee_cents=old.fee_cents,
            currency=old.currency,
            fee_band=old.fee_band,
            video_room=old.video_room,
            ics_sequence=old.ics_sequence,
            rescheduled_from_id=old.id,
            created_at=now,
            updated_at=now,
        )
        db.session.add(new)
        db.session.flush()
        # The hook keeps the calendar identity (UID) of `old` and raises SEQUENCE.
        notifications.on_booking_rescheduled(old=old, new=new, now=now)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise _taken() from None
    except BaseException:
        db.session.rollback()
        raise
    logger.info("rescheduled booking=%s to booking=%s", booking_id, new.id)
    return new


def _status_after_move(old: Booking) -> str:
    # A held booking stays held (payment still pending); anything else is confirmed.
    return "held" if old.hold_expires_at is not None else BookingStatus.CONFIRMED.value


def cancel_booking(
    *,
    booking_id: int,
    actor_id: int,
    now: datetime,
    reason: str | None = None,
    scope: CancelScope = "one",
) -> Booking:
    """Cancel a session (scope "future": it and every later one of its series)."""
    if scope not in ("one", "future"):
        raise ValidationError("Unknown scope.", errors={"scope": ["Use 'one' or 'future'."]})
    reason = (reason or "").strip() or None
    if reason is not None and len(reason) > 500:
        raise ValidationError("Reason too long.", errors={"reason": ["At most 500 characters."]})
    booking = get_booking_for(booking_id=booking_id, user_id=actor_id)
    by = _party(booking, actor_id)
    assert by is not None
    try:
        lock_therapist_calendar(booking.therapist_id)
        target = _reload(booking_id)
        _require_changeable(target, now)
        targets = [target]
        if scope == "future" and target.series_id is not None:
            targets += db.session.scalars(
                select(Booking)
                .where(
                    Booking.series_id == target.series_id,
                    Booking.start_at > target.start_at,
                    Booking.status.in_(ACTIVE_STATUSES),
                )
                .order_by(Booking.start_at)
            ).all()
        if target.group_id is not None and target.client_id is None:
            # A group meeting called off: every member's session of it goes too.
            targets += db.session.scalars(
                select(Booking)
                .where(
                    Booking.group_id == target.group_id,
                    Booking.client_id.is_not(None),
                    Booking.start_at == target.start_at,
                    Booking.status.in_(ACTIVE_STATUSES),
                )
                .order_by(Booking.id)
            ).all()
        window = _cancellation_window(target.therapist_id)
        for item in targets:
            item.status = BookingStatus.CANCELLED.value
            item.cancelled_at = now
            item.cancelled_by = by
            item.cancel_reason = reason
            item.is_late_cancellation = is_late_cancellation(item.start_at, now, window, by)
            item.updated_at = now
        db.session.flush()
        for item in targets:
            notifications.on_booking_cancelled(booking=item, now=now)
            payments.on_booking_cancelled(booking=item, now=now)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    logger.info(
        "cancelled bookings=%s by=%s late=%s",
        [b.id for b in targets],
        by,
        target.is_late_cancellation,
    )
    return target


def mark_attendance(
    *, booking_id: int, therapist_user_id: int, status: str, now: datetime
) -> Booking:
    """The therapist records a session as completed or a no-show, once it has started."""
    if status not in ("completed", "no_show"):
        raise ValidationError(
            "Unknown attendance.", errors={"status": ["Use 'completed' or 'no_show'."]}
        )
    booking = get_booking_for(booking_id=booking_id, user_id=therapist_user_id)
    if _party(booking, therapist_user_id) != "therapist":
        raise NotFoundError("No such session.")
    try:
        lock_therapist_calendar(booking.therapist_id)
        booking = _reload(booking_id)
        if now < booking.start_at:
            raise ConflictError(
                "Attendance can be recorded once the session has started.",
                extra={"reason": "not_started"},
            )
        if not can_transition(booking.status, status):
            raise ConflictError(
                f"A {booking.status.replace('_', ' ')} session cannot be marked "
                f"{status.replace('_', ' ')}.",
                extra={"reason": "invalid_transition"},
            )
        booking.status = status
        booking.updated_at = now
        if status == "no_show":  # a missed session costs the late-cancel fee
            payments.on_booking_no_show(booking=booking, now=now)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return booking


# --- internals ----------------------------------------------------------------------


def _reload(booking_id: int) -> Booking:
    """The booking as committed now (after the lock), not as first read in this session."""
    booking = db.session.scalars(
        select(Booking).where(Booking.id == booking_id).execution_options(populate_existing=True)
    ).one_or_none()
    if booking is None:
        raise NotFoundError("No such session.")
    return booking


def _expire_holds(therapist_id: int, now: datetime) -> None:
    db.session.execute(
        update(Booking)
        .where(
            Booking.therapist_id == therapist_id,
            Booking.status == "held",
            Booking.hold_expires_at <= now,
        )
        .values(status=EXPIRED, updated_at=now)
        .execution_options(synchronize_session=False)
    )


def _require_changeable(booking: Booking, now: datetime) -> None:
    if booking.status not in ACTIVE_STATUSES or (
        booking.status == "held"
        and booking.hold_expires_at is not None
        and booking.hold_expires_at <= now
    ):
        raise ConflictError(
            f"This session is {booking.status.replace('_', ' ')} and cannot be changed.",
            extra={"reason": "not_active"},
        )
    if booking.start_at <= now:
        raise ConflictError(
            "This session has already started.", extra={"reason": "already_started"}
        )


def _active_therapist(therapist_id: int) -> TherapistProfile:
    profile = db.session.get(TherapistProfile, therapist_id)
    if profile is None or profile.user.status != AccountStatus.ACTIVE.value:
        raise NotFoundError("No such therapist.")
    return profile


def _schedule(
    therapist_id: int, *, now: datetime, exclude_booking_ids: Sequence[int] = ()
) -> Schedule:
    schedule = load_schedule(therapist_id, now=now, exclude_booking_ids=exclude_booking_ids)
    if schedule is None:
        raise NotFoundError("No such therapist.")
    return schedule


def _party(booking: Booking, user_id: int) -> Literal["client", "therapist"] | None:
    if booking.client_id is not None and booking.client_id == user_id:
        return "client"
    therapist_user = db.session.scalar(
        select(TherapistProfile.user_id).where(TherapistProfile.id == booking.therapist_id)
    )
    return "therapist" if therapist_user == user_id else None


def _cancellation_window(therapist_id: int) -> int:
    window = db.session.scalar(
        select(SettingsRow.cancellation_window_hours).where(
            SettingsRow.therapist_id == therapist_id
        )
    )
    return DEFAULT_CANCELLATION_WINDOW_HOURS if window is None else int(window)


def _taken() -> ConflictError:
    return ConflictError(
        "That time is no longer available; please choose another slot.",
        extra={"reason": "taken"},
    )


def _validate_booking_request(
    start: datetime,
    setting: str,
    repeat_weekly: int | None,
    hold_minutes: int | None,
    idempotency_key: str | None,
) -> None:
    errors: dict[str, list[str]] = {}
    if start.tzinfo is None or start.utcoffset() is None:
        errors["start"] = ["Give the start with its time zone offset."]
    if setting not in SETTINGS:
        errors["setting"] = [f"'{setting}' is not a setting."]
    low, high = SERIES_WEEKS
    if repeat_weekly is not None and not low <= repeat_weekly <= high:
        errors["repeat_weekly"] = [f"Repeat for {low} to {high} weeks."]
    if hold_minutes is not None and not 0 < hold_minutes <= MAX_HOLD_MINUTES:
        errors["hold_minutes"] = [f"Hold for 1 to {MAX_HOLD_MINUTES} minutes."]
    if idempotency_key is not None and not 0 < len(idempotency_key) <= 200:
        errors["idempotency_key"] = ["Use a key of 1 to 200 characters."]
    if errors:
        raise ValidationError("Some fields need attention.", errors=errors)


def _request_hash(**fields: Any) -> str:
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _find_record(user_id: int, key: str) -> IdempotencyRecord | None:
    return db.session.scalar(
        select(IdempotencyRecord).where(
            IdempotencyRecord.user_id == user_id, IdempotencyRecord.key == key
        )
    )


def _replay(record: IdempotencyRecord, request_hash: str) -> Booking | list[Booking]:
    if record.request_hash != request_hash:
        raise ValidationError(
            "This Idempotency-Key was already used for a different request.",
            errors={"idempotency_key": ["Use a new key for a new request."]},
        )
    ids = [int(i) for i in record.body.get("booking_ids", [])]  # type: ignore[attr-defined]
    rows = {b.id: b for b in db.session.scalars(select(Booking).where(Booking.id.in_(ids)))}
    bookings = [rows[i] for i in ids if i in rows]
    if not bookings:
        raise NotFoundError("The booking made with this Idempotency-Key no longer exists.")
    # End the read transaction now: on SQLite it holds the write lock.
    db.session.commit()
    return bookings if record.body.get("series") else bookings[0]


@dataclass(frozen=True)
class PartyNames:
    """Display names for listing sessions: clients by user id, therapists by profile id."""

    clients: dict[int, str]
    therapists: dict[int, str]


def names_for(bookings: Sequence[Booking]) -> PartyNames:
    client_ids = {b.client_id for b in bookings if b.client_id is not None}
    therapist_ids = {b.therapist_id for b in bookings}
    clients = (
        dict(
            db.session.execute(
                select(User.id, User.display_name).where(User.id.in_(client_ids))
            ).all()
        )
        if client_ids
        else {}
    )
    therapists = (
        dict(
            db.session.execute(
                select(TherapistProfile.id, TherapistProfile.display_name).where(
                    TherapistProfile.id.in_(therapist_ids)
                )
            ).all()
        )
        if therapist_ids
        else {}
    )
    return PartyNames(clients=clients, therapists=therapists)
