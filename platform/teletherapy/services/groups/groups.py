"""Group therapy use cases: create a group and its meetings, take and leave seats, the waitlist.

Integrity:
* Meetings are `Booking` rows on the therapist's calendar (client_id NULL), inserted
  under `pg_advisory_xact_lock(therapist_id)` on PostgreSQL (the key the booking
  service uses too), so the exclusion constraint keeps them apart from individual
  sessions and concurrent losers get a clean 409. SQLite serialises writers with
  BEGIN IMMEDIATE (see app._configure_sqlite).
* The seat counter only moves through a conditional UPDATE
  (`seats_taken < capacity`), checked by rowcount, and a CHECK constraint backs it.
* Every seat or waitlist change first locks the group row (the conditional UPDATE
  or SELECT ... FOR UPDATE), so changes to one group run one at a time and always
  take their locks in the same order (group row, then seat or waitlist rows).

Waitlist policy: a freed seat is given at once to the first client in line (the
entry becomes "accepted", the seat is theirs) and they are told by email through
the outbox in the same transaction. No offer has to be accepted and none can
lapse, so a seat is never left empty while someone waits; a client who no longer
wants it leaves the group like any other member.

Members' sessions: a seated client gets a booking row of their own for every meeting
that has not started (group_id and client_id set, no buffer, the group's fee), so
invites, reminders, the calendar feed, "My sessions" and payments work as for an
individual session. Those rows never count as the therapist's time (the meeting
row does; see `schedules.is_therapist_time` and migration 0008). Leaving the group
cancels the member's future rows as a client cancellation (late inside the
therapist's cancellation window); cancelling the group cancels them as the
therapist's.
"""

from __future__ import annotations

import functools
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ParamSpec, TypeVar

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from teletherapy.domain.availability import time_zone_error
from teletherapy.domain.booking import blocked_interval, weekly_series_starts
from teletherapy.domain.errors import (
    ConflictError,
    NotFoundError,
    ValidationError,
)
from teletherapy.domain.intervals import Interval
from teletherapy.domain.vocabularies import MODALITIES
from teletherapy.extensions import db
from teletherapy.models import (
    ACTIVE_STATUSES,
    AvailabilitySettings,
    Booking,
    GroupSeat,
    GroupStatus,
    GroupWaitlistEntry,
    SeatStatus,
    TherapistProfile,
    TherapyGroup,
    User,
    WaitlistStatus,
)
from teletherapy.services.availability.schedules import (
    is_therapist_time,
    lock_therapist_calendar,
    settings_from_row,
)
from teletherapy.services.bookings import lifecycle

logger = logging.getLogger(__name__)

MIN_CAPACITY = 2
MAX_CAPACITY = 15
MIN_DURATION_MINUTES = 30
MAX_DURATION_MINUTES = 240
MAX_MEETINGS = 52
MAX_FEE_CENTS = 100_000
CURRENCIES = ("usd",)
# A group meets somewhere several people can come: a video room or an office.
GROUP_SETTINGS = ("online", "in_office")

P = ParamSpec("P")
R = TypeVar("R")


def _atomic(fn: Callable[P, R]) -> Callable[P, R]:
    """Roll back whatever the use case did when it fails (nothing changed, lock released)."""

    @functools.wraps(fn)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except BaseException:
            db.session.rollback()
            raise

    return run


@dataclass(frozen=True)
class Meeting:
    """One meeting of a group to be created: the session and the time it blocks."""

    start: datetime
    end: datetime
    blocked: Interval


@dataclass(frozen=True)
class Membership:
    """Where a client stands in a group."""

    is_seated: bool
    waitlist_position: int | None  # 1 = next in line; None when not waiting


def iso_utc(value: datetime) -> str:
    """An instant as the API writes it: ISO 8601 in UTC with a Z."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _rowcount(result: Any) -> int:
    """Rows matched by an UPDATE (CursorResult.rowcount; typed loosely by SQLAlchemy)."""
    return int(result.rowcount)


# --- creating a group -------------------------------------------------------------


def _validate_group(
    *,
    title: str,
    modality: str,
    setting: str,
    capacity: int,
    fee_cents: int,
    currency: str,
    description: str,
    time_zone: str,
    first_start: datetime,
    duration_minutes: int,
    weekly_count: int,
    now: datetime,
) -> None:
    errors: dict[str, list[str]] = {}
    if not title.strip():
        errors["title"] = ["Enter a title."]
    elif len(title.strip()) > 120:
        errors["title"] = ["Use at most 120 characters."]
    if modality not in MODALITIES:
        errors["modality"] = [f"'{modality}' is not a modality code (see /api/v1/vocabularies)."]
    if setting not in GROUP_SETTINGS:
        errors["setting"] = [f"'{setting}' is not a group setting: use online or in_office."]
    if not MIN_CAPACITY <= capacity <= MAX_CAPACITY:
        errors["capacity"] = [f"A group has {MIN_CAPACITY} to {MAX_CAPACITY} seats."]
    if not 0 <= fee_cents <= MAX_FEE_CENTS:
        errors["fee_cents"] = [f"The fee is 0 to {MAX_FEE_CENTS} cents per meeting."]
    if currency not in CURRENCIES:
        errors["currency"] = ["Fees are in usd."]
    if len(description) > 2000:
        errors["description"] = ["Use at most 2000 characters."]
    zone_problem = time_zone_error(time_zone)
    if zone_problem:
        errors["time_zone"] = [zone_problem]
    if first_start.tzinfo is None or first_start.utcoffset() is None:
        errors["first_start"] = ["Give the first meeting's time with its UTC offset."]
    elif first_start <= now:
        errors["first_start"] = ["The first meeting must be in the future."]
    if not MIN_DURATION_MINUTES <= duration_minutes <= MAX_DURATION_MINUTES:
        errors["duration_minutes"] = [
            f"A meeting lasts {MIN_DURATION_MINUTES} to {MAX_DURATION_MINUTES} minutes."
        ]
    if not 1 <= weekly_count <= MAX_MEETINGS:
        errors["weekly_count"] = [f"A group meets 1 to {MAX_MEETINGS} times."]
    if errors:
        raise ValidationError("Some fields need attention.", errors=errors)


def plan_meetings(
    *,
    first_start: datetime,
    duration_minutes: int,
    weekly_count: int,
    time_zone: str,
    setting: str,
    buffer_minutes: int,
    travel_buffer_minutes: int,
) -> list[Meeting]:
    """Weekly meetings at the first meeting's wall-clock time in `time_zone` (DST-kept)."""
    length = timedelta(minutes=duration_minutes)
    meetings = []
    for start in weekly_series_starts(first_start, time_zone, weekly_count):
        blocked = blocked_interval(
            start, start + length, setting, buffer_minutes, travel_buffer_minutes
        )
        meetings.append(Meeting(start=start, end=start + length, blocked=blocked))
    return meetings


def _conflicting_starts(therapist_id: int, meetings: list[Meeting]) -> list[datetime]:
    """Starts of the meetings whose blocked time overlaps an active booking of the therapist.

    Every active booking counts, as it does for the exclusion constraint (an expired
    hold still blocks until the booking service's sweep cancels it).
    """
    low = min(m.blocked.start for m in meetings)
    high = max(m.blocked.end for m in meetings)
    booked = [
        Interval(start, end)
        for start, end in db.session.execute(
            select(Booking.blocked_start_at, Booking.blocked_end_at).where(
                Booking.therapist_id == therapist_id,
                Booking.status.in_(ACTIVE_STATUSES),
                Booking.blocked_start_at < high,
                Booking.blocked_end_at > low,
                is_therapist_time(),
            )
        )
    ]
    return [m.start for m in meetings if any(m.blocked.overlaps(b) for b in booked)]


def _conflict(starts: list[datetime]) -> ConflictError:
    return ConflictError(
        "Some meetings clash with sessions already on your calendar.",
        extra={"reason": "taken", "conflicts": [iso_utc(s) for s in starts]},
    )


def _therapist_of(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None or user.therapist is None or not user.is_active:
        raise NotFoundError("No such therapist.")
    return user


def default_time_zone(*, therapist_user_id: int) -> str:
    """The zone a new group's meetings keep by default: the therapist's availability zone."""
    user = _therapist_of(therapist_user_id)
    assert user.therapist is not None
    settings_row = db.session.get(AvailabilitySettings, user.therapist.id)
    return settings_row.time_zone if settings_row else user.time_zone


@_atomic
def create_group(
    *,
    therapist_user_id: int,
    title: str,
    modality: str,
    setting: str,
    capacity: int,
    fee_cents: int,
    first_start: datetime,
    duration_minutes: int,
    weekly_count: int,
    now: datetime,
    description: str = "",
    time_zone: str | None = None,
    currency: str = "usd",
) -> TherapyGroup:
    """Create a group and book its weekly meetings on the therapist's calendar; all or nothing.

    `time_zone` (default: the therapist's availability zone) is where the meetings keep
    their wall-clock time. A clash with any active booking is a 409 listing every
    clashing meeting start.
    """
    user = _therapist_of(therapist_user_id)
    assert user.therapist is not None
    therapist_id = user.therapist.id
    settings_row = db.session.get(AvailabilitySettings, therapist_id)
    zone = time_zone or default_time_zone(therapist_user_id=therapist_user_id)
    _validate_group(
        title=title,
        modality=modality,
        setting=setting,
        capacity=capacity,
        fee_cents=fee_cents,
        currency=currency,
        description=description,
        time_zone=zone,
        first_start=first_start,
        duration_minutes=duration_minutes,
        weekly_count=weekly_count,
        now=now,
    )
    settings = settings_from_row(settings_row, accepting_new_clients=True)
    meetings = plan_meetings(
        first_start=first_start,
        duration_minutes=duration_minutes,
        weekly_count=weekly_count,
        time_zone=zone,
        setting=setting,
        buffer_minutes=settings.buffer_minutes,
        travel_buffer_minutes=settings.travel_buffer_minutes,
    )
    lock_therapist_calendar(therapist_id)
    clashes = _conflicting_starts(therapist_id, meetings)
    if clashes:
        raise _conflict(clashes)
    group = TherapyGroup(
        therapist_id=therapist_id,
        title=title.strip(),
        modality=modality,
        setting=setting,
        capacity=capacity,
        seats_taken=0,
        fee_cents=fee_cents,
        currency=currency,
        description=description.strip(),
        time_zone=zone,
        status=GroupStatus.OPEN.value,
        starts_at=meetings[0].start,
        ends_at=meetings[-1].end,
        created_at=now,
    )
    db.session.add(group)
    try:
        db.session.flush()
        # Online meetings get a video room each; members' sessions share their meeting's room.
        lifecycle.add_group_meetings(
            group=group,
            meetings=[(m.start, m.end, m.blocked.start, m.blocked.end) for m in meetings],
            now=now,
        )
        db.session.commit()
    except IntegrityError:
        # The exclusion constraint (at the meetings' flush or the commit) caught a booking
        # our check could not see.
        db.session.rollback()
        raise _conflict(_conflicting_starts(therapist_id, meetings)) from None
    logger.info(
        "group created id=%s therapist=%s meetings=%s", group.id, therapist_id, len(meetings)
    )
    return group


# --- reading ----------------------------------------------------------------------


def get_group(group_id: int) -> TherapyGroup:
    group = db.session.get(TherapyGroup, group_id)
    if group is None:
        raise NotFoundError("No such group.")
    return group


def list_groups(
    *, therapist_id: int | None = None, open_only: bool = True, now: datetime | None = None
) -> list[TherapyGroup]:
    """Groups by first meeting; `open_only` keeps open groups (not yet over, given `now`)."""
    query = select(TherapyGroup).order_by(TherapyGroup.starts_at, TherapyGroup.id)
    if therapist_id is not None:
        query = query.where(TherapyGroup.therapist_id == therapist_id)
    if open_only:
        query = query.where(TherapyGroup.status == GroupStatus.OPEN.value)
        if now is not None:
            query = query.where(TherapyGroup.ends_at > now)
    return list(db.session.scalars(query))


def list_my_groups(*, client_id: int) -> list[TherapyGroup]:
    """Groups in which the client holds a seat, by first meeting."""
    return list(
        db.session.scalars(
            select(TherapyGroup)
            .join(GroupSeat, GroupSeat.group_id == TherapyGroup.id)
            .where(GroupSeat.client_id == client_id, GroupSeat.status == SeatStatus.TAKEN)
            .order_by(TherapyGroup.starts_at, TherapyGroup.id)
        )
    )


def list_meetings(group_ids: Iterable[int]) -> dict[int, list[Booking]]:
    """The meeting bookings of each group (not the members' own rows), in time order."""
    ids = sorted(set(group_ids))
    meetings: dict[int, list[Booking]] = defaultdict(list)
    if not ids:
        return meetings
    for booking in db.session.scalars(
        select(Booking)
        .where(Booking.group_id.in_(ids), Booking.client_id.is_(None))
        .order_by(Booking.start_at)
    ):
        assert booking.group_id is not None
        meetings[booking.group_id].append(booking)
    return meetings


def therapist_names(therapist_ids: Iterable[int]) -> dict[int, str]:
    ids = sorted(set(therapist_ids))
    if not ids:
        return {}
    rows = db.session.execute(
        select(TherapistProfile.id, TherapistProfile.display_name).where(
            TherapistProfile.id.in_(ids)
        )
    )
    return {therapist_id: name for therapist_id, name in rows}


def list_roster(*, group_id: int, therapist_user_id: int) -> list[str]:
    """First names of the seated clients, for the group's own therapist only."""
    group = _own_group(group_id, therapist_user_id)
    names = db.session.scalars(
        select(User.display_name)
        .join(GroupSeat, GroupSeat.client_id == User.id)
        .where(GroupSeat.group_id == group.id, GroupSeat.status == SeatStatus.TAKEN)
        .order_by(GroupSeat.taken_at, GroupSeat.id)
    )
    return [(name.split() or ["Client"])[0] for name in names]


def count_waiting(group_id: int) -> int:
    return waiting_counts([group_id])[group_id]


def waiting_counts(group_ids: Iterable[int]) -> dict[int, int]:
    """How many clients wait for each group (one query)."""
    ids = sorted(set(group_ids))
    counts = dict.fromkeys(ids, 0)
    if not ids:
        return counts
    rows = db.session.execute(
        select(GroupWaitlistEntry.group_id, func.count(GroupWaitlistEntry.id))
        .where(
            GroupWaitlistEntry.group_id.in_(ids),
            GroupWaitlistEntry.status == WaitlistStatus.WAITING.value,
        )
        .group_by(GroupWaitlistEntry.group_id)
    )
    counts.update({group_id: int(count) for group_id, count in rows})
    return counts


def _own_group(group_id: int, therapist_user_id: int) -> TherapyGroup:
    user = _therapist_of(therapist_user_id)
    group = db.session.get(TherapyGroup, group_id)
    if group is None or user.therapist is None or group.therapist_id != user.therapist.id:
        raise NotFoundError("No such group.")
    return group
