"""Load therapists' schedules (settings, rules, overrides, active sessions) for the slot engine.

One place turns rows into `domain.slots.Schedule`; bulk loading uses a fixed number
of queries whatever the number of therapists (for matching's "next opening").
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Integer, TextClause, bindparam, func, or_, select, text

from teletherapy.domain.availability import AvailabilitySettings, DateOverride, WeeklyRule
from teletherapy.domain.booking import BookingStatus, blocks_time
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
    """One therapist's schedule: on PostgreSQL in one round trip (the booking path asks
    twice per booking, once under the calendar lock); elsewhere as `load_schedules`."""
    return load_schedules_at_once(
        [therapist_id], now=now, exclude_booking_ids=exclude_booking_ids
    ).get(therapist_id)


def load_schedules_at_once(
    therapist_ids: Iterable[int],
    *,
    now: datetime,
    exclude_booking_ids: Iterable[int] = (),
    only_if: Callable[[Schedule], bool] | None = None,
) -> dict[int, Schedule]:
    """`load_schedules` in one round trip on PostgreSQL (each therapist's parts as JSON):
    for a few therapists, where the four queries' round trips and rows cost the most
    (a booking; matching's preferred times for the shown few). Elsewhere `load_schedules`.

    With `only_if`, the schedules for which it is False are left out; it is asked before
    their booked sessions are read (most of the work), so it must not look at them."""
    ids = sorted(set(therapist_ids))
    if not ids or db.session.get_bind().dialect.name != "postgresql":
        found = load_schedules(ids, now=now, exclude_booking_ids=exclude_booking_ids)
        return {tid: s for tid, s in found.items() if only_if is None or only_if(s)}
    excluded = set(exclude_booking_ids)
    schedules = {}
    for row in db.session.execute(_ONE_TRIP, one_trip_params(ids, now)):
        schedule = schedule_from_one_trip(row, now, excluded, sessions=only_if is None)
        if only_if is not None:
            if not only_if(schedule):
                continue
            schedule = dataclasses.replace(schedule, booked=_sessions(row, now, excluded))
        schedules[row[0]] = schedule
    return schedules


def load_schedule_and_holds(
    therapist_id: int, *, now: datetime
) -> tuple[Schedule | None, list[datetime]]:
    """`load_schedule` and when the therapist's unexpired holds run out, from the same
    round trip on PostgreSQL (the openings row kept at each booking's commit needs both)."""
    if db.session.get_bind().dialect.name != "postgresql":
        return load_schedule(therapist_id, now=now), hold_expiries([therapist_id], now)[
            therapist_id
        ]
    found = db.session.execute(_ONE_TRIP, one_trip_params([therapist_id], now)).one_or_none()
    if found is None:
        return None, []
    held = [
        _instant(hold)
        for *_, status, hold in found[5] or []
        if status == BookingStatus.HELD.value and hold
    ]
    return schedule_from_one_trip(found, now, set()), [at for at in held if at > now]


def hold_expiries(therapist_ids: Sequence[int], now: datetime) -> dict[int, list[datetime]]:
    """When each therapist's unexpired holds run out (a held session's time is free again)."""
    found: dict[int, list[datetime]] = {tid: [] for tid in therapist_ids}
    for therapist_id, expires in db.session.execute(
        select(Booking.therapist_id, Booking.hold_expires_at).where(
            Booking.therapist_id.in_(therapist_ids),
            Booking.status == BookingStatus.HELD,
            Booking.hold_expires_at > now,
        )
    ):
        if expires is not None:
            found[therapist_id].append(expires)
    return found


# The same rows as load_schedules (same filters, same order), each part as JSON.
# `{extra}`: more columns about the same therapist (`p`) that a caller reads in the
# same round trip (see `one_trip_statement`).
_ONE_TRIP_SQL = """
    SELECT p.id, p.accepting_new_clients,
      (SELECT json_build_object(
                'time_zone', s.time_zone, 'session_minutes', s.session_minutes,
                'buffer_minutes', s.buffer_minutes,
                'travel_buffer_minutes', s.travel_buffer_minutes,
                'min_notice_hours', s.min_notice_hours, 'horizon_days', s.horizon_days,
                'max_per_day', s.max_per_day, 'max_per_week', s.max_per_week,
                'cancellation_window_hours', s.cancellation_window_hours)
         FROM availability_settings s WHERE s.therapist_id = p.id),
      (SELECT json_agg(json_build_array(r.weekday, r.start_time, r.end_time, r.setting)
                       ORDER BY r.weekday, r.start_time)
         FROM availability_rules r WHERE r.therapist_id = p.id),
      (SELECT json_agg(json_build_array(o.on_date, o.is_available, o.start_time, o.end_time,
                                        o.setting) ORDER BY o.on_date, o.start_time)
         FROM availability_overrides o
        WHERE o.therapist_id = p.id AND o.on_date >= :overrides_from),
      (SELECT json_agg(json_build_array(b.id, b.start_at, b.end_at, b.setting, b.status,
                                        b.hold_expires_at))
         FROM bookings b
        WHERE b.therapist_id = p.id AND b.status IN :active AND b.end_at > :booked_from
          AND (b.group_id IS NULL OR b.client_id IS NULL)){extra}
    FROM therapist_profiles p WHERE p.id IN :therapist_ids
    """


def one_trip_statement(extra: str = "", *, before: str = "") -> TextClause:
    """The one-round-trip schedule query (PostgreSQL), with `extra` columns appended
    (text starting with a comma; `p` is the therapist's profile row) and `before` it a
    WITH clause if given. Build it once, at import; run it with `one_trip_params` plus
    the extra columns' own parameters."""
    return text(before + _ONE_TRIP_SQL.format(extra=extra)).bindparams(
        bindparam("active", expanding=True), bindparam("therapist_ids", expanding=True)
    )


def one_trip_params(therapist_ids: Iterable[int], now: datetime) -> dict[str, Any]:
    if db.session.autoflush:  # a text() statement does not autoflush as ORM queries do
        db.session.flush()
    return {
        "therapist_ids": sorted(set(therapist_ids)),
        "overrides_from": (now - timedelta(days=1)).date(),
        "booked_from": now - timedelta(days=8),
        "active": [status.value for status in ACTIVE_STATUSES],
    }


_ONE_TRIP = one_trip_statement()


def schedule_from_one_trip(
    found: Any, now: datetime, excluded: set[int], *, sessions: bool = True
) -> Schedule:
    """The Schedule in a row of `one_trip_statement` (its first six columns); without
    `sessions`, with none booked."""
    accepting: bool = found[1]
    settings_json: dict[str, Any] | None = found[2]
    rules_json: list[list[Any]] = found[3] or []
    overrides_json: list[list[Any]] = found[4] or []
    return Schedule(
        settings=(
            AvailabilitySettings(**settings_json, accepting_new_clients=accepting)
            if settings_json
            else settings_from_row(None, accepting_new_clients=accepting)
        ),
        rules=tuple(
            WeeklyRule(weekday, time.fromisoformat(start), time.fromisoformat(end), setting)
            for weekday, start, end, setting in rules_json
        ),
        overrides=tuple(
            DateOverride(
                date.fromisoformat(on_date),
                is_available,
                None if start is None else time.fromisoformat(start),
                None if end is None else time.fromisoformat(end),
                setting,
            )
            for on_date, is_available, start, end, setting in overrides_json
        ),
        booked=_sessions(found, now, excluded) if sessions else (),
    )


def _sessions(found: Any, now: datetime, excluded: set[int]) -> tuple[BookedSession, ...]:
    """The booked sessions in a row of `one_trip_statement`, in order of start."""
    booked = [
        BookedSession(_instant(start), _instant(end), setting)
        for booking_id, start, end, setting, status, hold in found[5] or ()
        if booking_id not in excluded
        and blocks_time(status, now, None if hold is None else _instant(hold))
    ]
    return tuple(sorted(booked, key=lambda s: s.start))


def _instant(value: str) -> datetime:
    return datetime.fromisoformat(value).astimezone(UTC)


def lock_therapist_calendar(therapist_id: int) -> None:
    """Serialise every writer of one therapist's calendar until the transaction ends.

    PostgreSQL: `pg_advisory_xact_lock(therapist_id)`, taken before any insert so that
    concurrent losers see the winner's row and get a clean conflict, never a deadlock.
    SQLite: every transaction begins IMMEDIATE (app.py); a statement starts it.
    """
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(_CALENDAR_LOCK, {"therapist_id": therapist_id})
    else:
        db.session.execute(select(1))


_CALENDAR_LOCK = select(func.pg_advisory_xact_lock(bindparam("therapist_id", type_=Integer)))
