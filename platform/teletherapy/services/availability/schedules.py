"""Load therapists' schedules (settings, rules, overrides, active sessions) for the slot engine.

One place turns rows into `domain.slots.Schedule`; bulk loading uses a fixed number
of queries whatever the number of therapists (for matching's "next opening").
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, or_, select

from teletherapy.domain.availability import AvailabilitySettings, DateOverride, WeeklyRule
from teletherapy.domain.booking import blocks_time
from teletherapy.domain.slots import BookedSession, Schedule
from teletherapy.extensions import db
from teletherapy.models import (
    ACTIVE_STATUSES,
    AvailabilityOverride,
    AvailabilityRule,
    Booking,
    TherapistProfile,
)
from teletherapy.models import AvailabilitySettings as SettingsRow


def is_therapist_time() -> ColumnElement[bool]:
    """SQL filter for the rows that are the therapist's own sessions.

    A seated group member has a booking of their own per meeting (group_id and
    client_id both set): it is the client's calendar entry, while the meeting row
    (client_id NULL) is what blocks the therapist's time. Member rows never count
    as busy time, toward caps, or in the therapist's lists.
    """
    return or_(Booking.group_id.is_(None), Booking.client_id.is_(None))


def is_individual_session() -> ColumnElement[bool]:
    """SQL filter for one-to-one sessions (neither a meeting row nor a member's row)."""
    return Booking.group_id.is_(None)


def settings_from_row(
    row: SettingsRow | None, *, accepting_new_clients: bool
) -> AvailabilitySettings:
    """Domain settings from a row (defaults when the therapist never saved any)."""
    if row is None:
        return AvailabilitySettings(
            time_zone="America/New_York", accepting_new_clients=accepting_new_clients
        )
    return AvailabilitySettings(
        time_zone=row.time_zone,
        session_minutes=row.session_minutes,
        buffer_minutes=row.buffer_minutes,
        travel_buffer_minutes=row.travel_buffer_minutes,
        min_notice_hours=row.min_notice_hours,
        horizon_days=row.horizon_days,
        max_per_day=row.max_per_day,
        max_per_week=row.max_per_week,
        cancellation_window_hours=row.cancellation_window_hours,
        accepting_new_clients=accepting_new_clients,
    )


def load_schedules(
    therapist_ids: Iterable[int],
    *,
    now: datetime,
    exclude_booking_ids: Iterable[int] = (),
) -> dict[int, Schedule]:
    """Schedules for many therapists in four queries.

    Booked sessions are the active ones from a week before `now` (for weekly caps)
    to the end of the longest possible horizon; expired holds are left out.
    """
    ids = sorted(set(therapist_ids))
    if not ids:
        return {}
    excluded = set(exclude_booking_ids)
    accepting = {
        tid: is_accepting
        for tid, is_accepting in db.session.execute(
            select(TherapistProfile.id, TherapistProfile.accepting_new_clients).where(
                TherapistProfile.id.in_(ids)
            )
        )
    }
    settings_rows = {
        row.therapist_id: row
        for row in db.session.scalars(
            # Reloaded under a lock after a first read: take the row as it is now.
            select(SettingsRow)
            .where(SettingsRow.therapist_id.in_(ids))
            .execution_options(populate_existing=True)
        )
    }
    rules: dict[int, list[WeeklyRule]] = defaultdict(list)
    # Columns, not ORM entities: ten rules per therapist for a thousand therapists
    # build seven times faster without instance bookkeeping.
    for rule in db.session.execute(
        select(
            AvailabilityRule.therapist_id,
            AvailabilityRule.weekday,
            AvailabilityRule.start_time,
            AvailabilityRule.end_time,
            AvailabilityRule.setting,
        )
        .where(AvailabilityRule.therapist_id.in_(ids))
        .order_by(AvailabilityRule.weekday, AvailabilityRule.start_time)
    ):
        rules[rule.therapist_id].append(
            WeeklyRule(rule.weekday, rule.start_time, rule.end_time, rule.setting)
        )
    overrides: dict[int, list[DateOverride]] = defaultdict(list)
    for o in db.session.execute(
        select(
            AvailabilityOverride.therapist_id,
            AvailabilityOverride.on_date,
            AvailabilityOverride.is_available,
            AvailabilityOverride.start_time,
            AvailabilityOverride.end_time,
            AvailabilityOverride.setting,
        )
        .where(
            AvailabilityOverride.therapist_id.in_(ids),
            AvailabilityOverride.on_date >= (now - timedelta(days=1)).date(),
        )
        .order_by(AvailabilityOverride.on_date, AvailabilityOverride.start_time)
    ):
        overrides[o.therapist_id].append(
            DateOverride(o.on_date, o.is_available, o.start_time, o.end_time, o.setting)
        )
    booked: dict[int, list[BookedSession]] = defaultdict(list)
    for b in db.session.execute(
        select(
            Booking.id,
            Booking.therapist_id,
            Booking.start_at,
            Booking.end_at,
            Booking.setting,
            Booking.status,
            Booking.hold_expires_at,
        ).where(
            Booking.therapist_id.in_(ids),
            Booking.status.in_(ACTIVE_STATUSES),
            Booking.end_at > now - timedelta(days=8),
            is_therapist_time(),
        )
    ):
        if b.id in excluded or not blocks_time(b.status, now, b.hold_expires_at):
            continue
        booked[b.therapist_id].append(BookedSession(b.start_at, b.end_at, b.setting))
    return {
        tid: Schedule(
            settings=settings_from_row(
                settings_rows.get(tid), accepting_new_clients=accepting.get(tid, False)
            ),
            rules=tuple(rules[tid]),
            overrides=tuple(overrides[tid]),
            booked=tuple(sorted(booked[tid], key=lambda s: s.start)),
        )
        for tid in ids
        if tid in accepting
    }


def load_schedule(
    therapist_id: int, *, now: datetime, exclude_booking_ids: Iterable[int] = ()
) -> Schedule | None:
    return load_schedules([therapist_id], now=now, exclude_booking_ids=exclude_booking_ids).get(
        therapist_id
    )


def lock_therapist_calendar(therapist_id: int) -> None:
    """Serialise every writer of one therapist's calendar until the transaction ends.

    PostgreSQL: `pg_advisory_xact_lock(therapist_id)`, taken before any insert so that
    concurrent losers see the winner's row and get a clean conflict, never a deadlock.
    SQLite: every transaction begins IMMEDIATE (app.py); a statement starts it.
    """
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(select(func.pg_advisory_xact_lock(therapist_id)))
    else:
        db.session.execute(select(1))
