"""Stored next openings: one row per therapist, rewritten in the transaction that changes
their calendar, read by matching instead of running the slot engine per candidate.

How it stays current
--------------------
* Anything that changes what a therapist can offer marks them: a flush that touches a
  booking (bookings, groups, payments), availability settings, rules, overrides or the
  profile marks its therapist (`mark_calendar_changed` marks by hand). Bulk UPDATEs of
  bookings only ever expire lapsed holds, which stopped blocking time when they lapsed.
* Just before the session commits, the marked therapists' rows are locked (in id
  order), recomputed with the slot engine (so the last writer to commit computes from
  everything committed before it) and upserted: same transaction, same commit.
* Time alone changes an answer only at known instants, stored as `valid_until`: a slot
  falling inside the minimum notice, a hold expiring, the horizon moving over a setting
  that has hours but no opening (bounded by HORIZON_STEP), at most a day. Readers treat
  rows past `valid_until` as absent and ask the engine; the dispatcher's job rewrites
  them (`refresh_due_openings`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from flask import has_app_context
from sqlalchemy import Table, bindparam, delete, event, func, literal, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, UOWTransaction

from teletherapy.domain.availability import SETTINGS
from teletherapy.domain.slots import Schedule, next_opening, next_openings_bulk
from teletherapy.extensions import db
from teletherapy.models import (
    AvailabilityOverride,
    AvailabilityRule,
    AvailabilitySettings,
    Booking,
    TherapistOpening,
    TherapistProfile,
    UTCDateTime,
)

logger = logging.getLogger(__name__)

# How long "no opening in this setting" may be served while the horizon moves on.
HORIZON_STEP = timedelta(minutes=15)
# Every row is recomputed at least this often, whatever else happens.
MAX_AGE = timedelta(days=1)
# Therapists recomputed per statement batch (and per job run, times JOB_BATCHES).
BATCH = 500
JOB_BATCHES = 20
_COLUMNS = {"online": "online_at", "in_office": "in_office_at", "home": "home_at"}
_MARK = "teletherapy.openings_dirty"
# An empty row (only there to be locked) is past due from the start.
_NEVER = datetime(2000, 1, 1, tzinfo=UTC)
_WATCHED = (Booking, AvailabilitySettings, AvailabilityRule, AvailabilityOverride)


# --- computing ----------------------------------------------------------------------------


def compute_row(
    therapist_id: int, schedule: Schedule, now: datetime, holds_expiring: Sequence[datetime]
) -> dict[str, Any]:
    """The stored row for one therapist at `now` (the slot engine decides every value)."""

    def first(setting: str | None) -> datetime | None:
        if (setting not in offered) if setting else not offered:
            # No hours in this setting (or not accepting): the engine would walk the
            # whole horizon day by day to find nothing.
            return None
        slot = next_opening(schedule, now, setting, is_new_client=True)
        return None if slot is None else slot.start

    row: dict[str, Any] = {"therapist_id": therapist_id, "computed_at": now}
    bounds = [now + MAX_AGE, *(at for at in holds_expiring if at > now)]
    notice = timedelta(hours=schedule.settings.min_notice_hours)
    offered = _settings_with_hours(schedule) if schedule.settings.accepting_new_clients else set()
    for setting, column in (*_COLUMNS.items(), (None, "any_at")):
        at = first(setting)
        row[column] = at
        if at is not None:
            bounds.append(at - notice)  # after this instant the slot is inside the notice
        elif setting in offered or (setting is None and offered):
            bounds.append(now + HORIZON_STEP)  # the horizon may bring one in
    row["valid_until"] = max(now, min(bounds))
    return row


def _settings_with_hours(schedule: Schedule) -> set[str]:
    found = {rule.setting for rule in schedule.rules}
    found.update(o.setting for o in schedule.overrides if o.available and o.setting)
    return found & set(SETTINGS)


def write_openings(therapist_ids: Iterable[int], *, now: datetime) -> int:
    """Recompute and upsert the rows of these therapists in the current transaction.

    On PostgreSQL the rows are locked first (created empty if need be), in id order:
    writers of one therapist's row take turns, and each computes from everything
    committed before it, so the last to commit leaves the right answer. Nothing else is
    waited for while holding these locks, so they cannot close a deadlock (the calendar
    lock could: a payment holding a booking row would wait for it at commit).
    """
    from teletherapy.services.availability.schedules import (
        hold_expiries,
        load_schedule_and_holds,
        load_schedules,
    )

    ids = sorted(set(therapist_ids))
    written = 0
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        _lock_rows(chunk)
        if len(chunk) == 1:  # a booking's commit: one round trip on PostgreSQL
            found, expiring = load_schedule_and_holds(chunk[0], now=now)
            schedules = {chunk[0]: found} if found is not None else {}
            holds = {chunk[0]: expiring}
        else:
            schedules = load_schedules(chunk, now=now)
            holds = hold_expiries(chunk, now)
        rows = [compute_row(tid, s, now, holds.get(tid, ())) for tid, s in schedules.items()]
        gone = set(chunk) - set(schedules)
        if gone:
            db.session.execute(
                delete(TherapistOpening).where(TherapistOpening.therapist_id.in_(sorted(gone)))
            )
        if rows:
            _upsert(rows)
        written += len(rows)
    return written


# Built once (every booking's commit runs them): the rows locked in id order, the empty
# rows that let a missing one be locked, and the upsert on each engine.
_LOCK = (
    select(TherapistOpening.therapist_id)
    .where(TherapistOpening.therapist_id.in_(bindparam("ids", expanding=True)))
    .order_by(TherapistOpening.therapist_id)
    .with_for_update()
)
# The Table, not the entity: run with parameters, an insert of the entity is the ORM's
# bulk insert.
_TABLE = cast(Table, TherapistOpening.__table__)
_ADD_EMPTY = (
    postgresql.insert(_TABLE)
    .from_select(
        ["therapist_id", "computed_at", "valid_until"],
        select(
            TherapistProfile.id,
            literal(_NEVER, UTCDateTime()),
            literal(_NEVER, UTCDateTime()),
        )
        .where(TherapistProfile.id.in_(bindparam("ids", expanding=True)))
        .order_by(TherapistProfile.id),
    )
    .on_conflict_do_nothing(index_elements=["therapist_id"])
)
_UPDATED = ("online_at", "in_office_at", "home_at", "any_at", "computed_at", "valid_until")


def _upsert_statement(insert: Any) -> Any:
    return insert.on_conflict_do_update(
        index_elements=["therapist_id"],
        set_={column: getattr(insert.excluded, column) for column in _UPDATED},
    )


_UPSERT = {
    "postgresql": _upsert_statement(postgresql.insert(_TABLE)),
    "sqlite": _upsert_statement(sqlite.insert(_TABLE)),
}


def _lock_rows(chunk: list[int]) -> None:
    if db.session.get_bind().dialect.name != "postgresql":
        return  # SQLite writers are serialised already (BEGIN IMMEDIATE)
    if len(db.session.execute(_LOCK, {"ids": chunk}).all()) == len(chunk):
        return  # every row exists (the usual case): locked in one round trip
    db.session.execute(_ADD_EMPTY, {"ids": chunk})
    db.session.execute(_LOCK, {"ids": chunk})


def _upsert(rows: list[dict[str, Any]]) -> None:
    db.session.execute(_UPSERT[db.session.get_bind().dialect.name], rows)


# --- reading ------------------------------------------------------------------------------

# Each setting's stored openings, current at `now`: statements built once (every search).
_STORED = {
    name: select(TherapistOpening.therapist_id, getattr(TherapistOpening, name)).where(
        TherapistOpening.therapist_id.in_(bindparam("ids", expanding=True)),
        TherapistOpening.valid_until >= bindparam("now"),
        TherapistOpening.computed_at <= bindparam("now"),
    )
    for name in (*_COLUMNS.values(), "any_at")
}


def stored_next_openings(
    therapist_ids: Iterable[int], *, setting: str | None, now: datetime
) -> dict[int, datetime | None]:
    """Each therapist's next opening for a new client, from the stored rows; therapists
    without a current row (never computed, or past `valid_until`) are asked of the engine.
    Reads only: safe on a read replica.
    """
    from teletherapy.services.availability.schedules import load_schedules

    ids = list(dict.fromkeys(therapist_ids))
    if not ids:
        return {}
    statement = _STORED[_COLUMNS[setting] if setting else "any_at"]
    found: dict[int, datetime | None] = {}
    for start in range(0, len(ids), 5000):
        rows = db.session.execute(statement, {"ids": ids[start : start + 5000], "now": now})
        for row in rows:
            found[row[0]] = row[1]
    missing = [tid for tid in ids if tid not in found]
    if missing:  # the engine, as before the table existed (nothing is written here)
        computed = next_openings_bulk(
            load_schedules(missing, now=now), now, setting, is_new_client=True
        )
        found.update({tid: None if s is None else s.start for tid, s in computed.items()})
    return {tid: found.get(tid) for tid in ids}


# --- keeping current ----------------------------------------------------------------------


def mark_calendar_changed(therapist_id: int, session: Session | None = None) -> None:
    """The therapist's openings are recomputed just before this session commits."""
    target = session if session is not None else db.session()
    target.info.setdefault(_MARK, set()).add(therapist_id)


def _collect(session: Session, flush_context: UOWTransaction) -> None:
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, _WATCHED):
            therapist_id = getattr(obj, "therapist_id", None)
        elif isinstance(obj, TherapistProfile):
            therapist_id = obj.id
        else:
            continue
        if therapist_id is not None:
            mark_calendar_changed(int(therapist_id), session)


def _is_app_session(session: Session) -> bool:
    """Only the app's own session is kept current here (scripts' raw sessions are not)."""
    return has_app_context() and session is db.session()


def _before_commit(session: Session) -> None:
    from teletherapy.clock import utcnow

    if session.new or session.dirty or session.deleted:
        session.flush()  # the commit flushes after this hook: mark the last changes first
    if not session.info.get(_MARK):
        return
    if not _is_app_session(session):
        session.info.pop(_MARK, None)
        return
    ids = sorted(session.info.pop(_MARK, ()))
    with db.session.no_autoflush:
        write_openings(ids, now=utcnow())
    session.info.pop(_MARK, None)  # writing the rows marks nothing worth redoing


def _after_rollback(session: Session) -> None:
    session.info.pop(_MARK, None)


def install() -> None:
    """Listen on every ORM session (once): flushes mark, commits recompute."""
    if not event.contains(Session, "after_flush", _collect):
        event.listen(Session, "after_flush", _collect)
        event.listen(Session, "before_commit", _before_commit)
        event.listen(Session, "after_soft_rollback", _after_soft_rollback)


def _after_soft_rollback(session: Session, previous_transaction: Any) -> None:
    _after_rollback(session)


# --- the job ------------------------------------------------------------------------------


def refresh_due_openings(*, now: datetime, limit: int = BATCH * JOB_BATCHES) -> int:
    """Rewrite the rows that time has made due, and create missing ones; a commit per
    batch."""
    P, row = TherapistProfile, TherapistOpening
    due = list(
        db.session.scalars(
            select(P.id)
            .outerjoin(row, row.therapist_id == P.id)
            .where(or_(row.therapist_id.is_(None), row.valid_until <= now + timedelta(minutes=1)))
            .order_by(func.coalesce(row.valid_until, now))
            .limit(limit)
        )
    )
    if not due:
        return 0
    written = 0
    for start in range(0, len(due), BATCH):  # a commit per batch: row locks held briefly
        with db.session.no_autoflush:
            written += write_openings(due[start : start + BATCH], now=now)
        db.session.info.pop(_MARK, None)
        db.session.commit()
    logger.info("openings refreshed for %d therapists", written)
    return written
