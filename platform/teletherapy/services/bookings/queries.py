"""Reading sessions: a therapist's calendar and slots, a person's sessions, names, previews.

Also the small lookups the booking use cases share (the booking re-read under the
lock, the therapist, their schedule and cancellation window, who a person is to
a booking).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Literal

from sqlalchemy import bindparam, or_, select

from teletherapy.domain.availability import SETTINGS
from teletherapy.domain.booking import (
    BookingActions,
    BookingStatus,
    booking_actions,
    is_late_cancellation,
    join_window_open,
)
from teletherapy.domain.errors import ConflictError, NotFoundError, ValidationError
from teletherapy.domain.slots import Schedule, Slot, generate_slots
from teletherapy.extensions import db
from teletherapy.gateways import video_rooms
from teletherapy.models import (
    ACTIVE_STATUSES,
    AccountStatus,
    Booking,
    Role,
    TherapistPaymentSettings,
    TherapistProfile,
    User,
)
from teletherapy.models import AvailabilitySettings as SettingsRow
from teletherapy.services.availability.schedules import (
    is_therapist_time,
    load_schedule,
    one_trip_params,
    one_trip_statement,
    schedule_from_one_trip,
)
from teletherapy.services.bookings.lifecycle import RESCHEDULE, expire_lapsed_holds

MAX_SLOT_RANGE_DAYS = 62
DEFAULT_CANCELLATION_WINDOW_HOURS = 24
_INACTIVE_FOR_NEW_CLIENT = (BookingStatus.CANCELLED, BookingStatus.EXPIRED)
SETTINGS_ORDER = ("online", "in_office", "home")

Party = Literal["client", "therapist"]
When = Literal["all", "upcoming", "past"]


def isoformat_z(value: datetime) -> str:
    """An instant as the API writes it: UTC with a `Z`."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


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
    profile = active_therapist(therapist_id)
    schedule = schedule_for(therapist_id, now=now)
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
    active_therapist(therapist_id)
    schedule = schedule_for(therapist_id, now=now, exclude_booking_ids=exclude_booking_ids)
    return generate_slots(schedule, now, from_date, to_date, setting, is_new_client=is_new_client)


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
        Booking.status != BookingStatus.EXPIRED,
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
    if booking is None or party_of(booking, user_id) is None:
        raise NotFoundError("No such session.")
    return booking


@dataclass(frozen=True)
class CancellationPreview:
    """What cancelling now would mean, shown before the person confirms."""

    by: Party
    is_late: bool
    window_hours: int


def preview_cancellation(*, booking_id: int, user_id: int, now: datetime) -> CancellationPreview:
    booking = get_booking_for(booking_id=booking_id, user_id=user_id)
    by = party_of(booking, user_id)
    assert by is not None  # get_booking_for checked
    window = cancellation_window(booking.therapist_id)
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
        or booking.status != BookingStatus.CONFIRMED
        or not join_window_open(booking.start_at, booking.end_at, now)
    ):
        return None
    return video_rooms().join_url(booking.video_room)


def actions_for(booking: Booking, now: datetime) -> BookingActions:
    """What this booking allows at `now` (the domain decides; pages and templates ask)."""
    return booking_actions(
        status=booking.status,
        start_at=booking.start_at,
        end_at=booking.end_at,
        hold_expires_at=booking.hold_expires_at,
        now=now,
        is_group=booking.group_id is not None,
        is_online=booking.setting == "online",
    )


def is_changeable(booking: Booking, now: datetime) -> bool:
    """True while a session can still be cancelled or moved: active and not yet started."""
    return actions_for(booking, now).can_cancel


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


# --- shared by the use cases ---------------------------------------------------------


def reload_booking(booking_id: int) -> Booking:
    """The booking as committed now (after the lock), not as first read in this session."""
    booking = db.session.scalars(
        select(Booking).where(Booking.id == booking_id).execution_options(populate_existing=True)
    ).one_or_none()
    if booking is None:
        raise NotFoundError("No such session.")
    return booking


def require_changeable(booking: Booking, now: datetime) -> None:
    if booking.status not in ACTIVE_STATUSES or (
        booking.status == BookingStatus.HELD
        and booking.hold_expires_at is not None
        and booking.hold_expires_at <= now
    ):
        raise ConflictError(
            f"This session is {str(booking.status).replace('_', ' ')} and cannot be changed.",
            extra={"reason": "not_active"},
        )
    if booking.start_at <= now:
        raise ConflictError(
            "This session has already started.", extra={"reason": "already_started"}
        )


def active_therapist(therapist_id: int) -> TherapistProfile:
    profile = db.session.get(TherapistProfile, therapist_id)
    if profile is None or profile.user.status != AccountStatus.ACTIVE.value:
        raise NotFoundError("No such therapist.")
    return profile


@dataclass(frozen=True)
class BookingView:
    """What booking a slot reads about the therapist, before and under the lock."""

    schedule: Schedule
    is_new_client: bool
    # (pay now, card on file, pay at session) as the therapist saved them (None: never).
    payment: PaymentChoices | None
    # Whether the client's first search waits to become elapsed hours at this booking
    # (equity recording); SQLite does not read it here (True: ask).
    first_search_pending: bool = True


PaymentChoices = tuple[bool, bool, bool]


def payment_choices(therapist_id: int) -> PaymentChoices | None:
    """The therapist's saved (pay now, card on file, pay at session); None: never saved."""
    row = db.session.get(TherapistPaymentSettings, therapist_id)
    if row is None:
        return None
    return (row.accepts_pay_now, row.accepts_card_on_file, row.accepts_pay_at_session)


# The schedule's one round trip plus the therapist's account status, whether this
# client has booked them before (`is_new_client`, the same filter in SQL), the payment
# methods they take (whether a new booking is held for payment) and whether the client's
# first search is still to be recorded.
_VIEW_COLUMNS = """,
      (SELECT u.status FROM users u WHERE u.id = p.user_id),
      EXISTS (SELECT 1 FROM bookings c
               WHERE c.therapist_id = p.id AND c.client_id = :client_id
                 AND c.status NOT IN :not_new AND c.group_id IS NULL{lapsed}),
      (SELECT json_build_array(m.accepts_pay_now, m.accepts_card_on_file,
                               m.accepts_pay_at_session)
         FROM therapist_payment_settings m WHERE m.therapist_id = p.id),
      EXISTS (SELECT 1 FROM equity_first_searches e WHERE e.user_id = :client_id)"""
_BOOKING_VIEW = one_trip_statement(_VIEW_COLUMNS.format(lapsed="")).bindparams(
    bindparam("not_new", expanding=True)
)
# Under the calendar lock the same read also marks the therapist's lapsed holds expired
# (they stopped blocking time when they lapsed; the exclusion constraint still counts a
# "held" row): one round trip instead of two. The read sees the rows as they were before
# that UPDATE, so a lapsed hold is left out of "booked before" here as expiring it does.
_BOOKING_VIEW_LOCKED = one_trip_statement(
    _VIEW_COLUMNS.format(lapsed=" AND NOT (c.status = :held AND c.hold_expires_at <= :now)"),
    before="""
    WITH expired AS (
      UPDATE bookings SET status = :expired, updated_at = :now
       WHERE therapist_id IN :therapist_ids AND status = :held AND hold_expires_at <= :now
      RETURNING id)""",
).bindparams(bindparam("not_new", expanding=True))


def booking_view(
    *, therapist_id: int, client_id: int, now: datetime, locked: bool = False
) -> BookingView:
    """`active_therapist`, `is_new_client` and `schedule_for` together: one round trip
    on PostgreSQL (a refused booking reads nothing else after its token).

    `locked`: read under the therapist's calendar lock, where the lapsed holds are also
    marked expired (`lifecycle.expire_lapsed_holds`) in the same round trip.
    """
    if db.session.get_bind().dialect.name != "postgresql":
        if locked:
            expire_lapsed_holds(now=now, therapist_id=therapist_id)
        active_therapist(therapist_id)
        return BookingView(
            schedule=schedule_for(therapist_id, now=now),
            is_new_client=is_new_client(client_id=client_id, therapist_id=therapist_id),
            payment=payment_choices(therapist_id),
        )
    found = db.session.execute(
        _BOOKING_VIEW_LOCKED if locked else _BOOKING_VIEW,
        {
            **one_trip_params([therapist_id], now),
            "client_id": client_id,
            "not_new": [status.value for status in _INACTIVE_FOR_NEW_CLIENT],
            **(
                {
                    "now": now,
                    "held": BookingStatus.HELD.value,
                    "expired": BookingStatus.EXPIRED.value,
                }
                if locked
                else {}
            ),
        },
    ).one_or_none()
    if found is None or found[6] != AccountStatus.ACTIVE.value:
        raise NotFoundError("No such therapist.")
    payment = found[8]
    return BookingView(
        schedule=schedule_from_one_trip(found, now, set()),
        is_new_client=not found[7],
        payment=None if payment is None else (payment[0], payment[1], payment[2]),
        first_search_pending=bool(found[9]),
    )


def schedule_for(
    therapist_id: int, *, now: datetime, exclude_booking_ids: Sequence[int] = ()
) -> Schedule:
    schedule = load_schedule(therapist_id, now=now, exclude_booking_ids=exclude_booking_ids)
    if schedule is None:
        raise NotFoundError("No such therapist.")
    return schedule


def party_of(booking: Booking, user_id: int) -> Party | None:
    if booking.client_id is not None and booking.client_id == user_id:
        return "client"
    therapist_user = db.session.scalar(
        select(TherapistProfile.user_id).where(TherapistProfile.id == booking.therapist_id)
    )
    return "therapist" if therapist_user == user_id else None


def cancellation_window(therapist_id: int) -> int:
    window = db.session.scalar(
        select(SettingsRow.cancellation_window_hours).where(
            SettingsRow.therapist_id == therapist_id
        )
    )
    return DEFAULT_CANCELLATION_WINDOW_HOURS if window is None else int(window)


def taken_error() -> ConflictError:
    return ConflictError(
        "That time is no longer available; please choose another slot.",
        extra={"reason": "taken"},
    )
