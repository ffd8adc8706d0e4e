"""Booking a session or a weekly series: validation, idempotency, pricing, holding for payment.

How a booking stays single under any concurrency
-------------------------------------------------
Every write that claims or releases a therapist's time runs in ONE transaction
that first takes that therapist's lock: ``pg_advisory_xact_lock(therapist_id)``
on PostgreSQL; on SQLite every transaction is ``BEGIN IMMEDIATE`` (app.py), so
writers are already serialised. Before the lock the service reads and decides
everything that other bookings cannot change (the client, the therapist, the price,
the hold) and asks the slot engine once from what is committed: a refusal then is
final (most losers of a contended slot stop there, without waiting). A session
confirmed at once also gets its id (``nextval``) and its invites and reminders written
there (``lifecycle.prepare_session``, PostgreSQL): they were about half of a winner's
time under the lock, and are written again under it only if the row changed. Under the lock
it marks lapsed holds "expired", reloads the schedule, asks the slot engine again
(``check_bookable``) and inserts through the lifecycle. Concurrent losers that got
past the first check therefore wait for the lock, then see the winner's row and get
a clean 409 ("taken"). The PostgreSQL
exclusion constraint ``no_overlapping_sessions`` is the last line: if it ever
fires, the IntegrityError becomes the same 409, never a 500.

Choices
-------
* Held for payment: when the therapist takes cards at booking (and this
  deployment can take them), a new booking is ``held`` for
  ``PAYMENT_HOLD_MINUTES`` and confirmed once paid; otherwise it is confirmed at
  once. The page and the API both ask this module, so they cannot drift.
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
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value

from teletherapy.domain.availability import SETTINGS
from teletherapy.domain.booking import BookingStatus, weekly_series_starts
from teletherapy.domain.errors import ConflictError, NotFoundError, ValidationError
from teletherapy.domain.payments import PAYMENT_HOLD_MINUTES, holds_for_payment, offered_methods
from teletherapy.domain.slots import BookedSession, Schedule, check_bookable
from teletherapy.extensions import db
from teletherapy.gateways import payment_gateway
from teletherapy.models import (
    Booking,
    BookingSeries,
    IdempotencyRecord,
    Role,
    User,
)
from teletherapy.models.base import written_columns
from teletherapy.services.availability.schedules import lock_therapist_calendar
from teletherapy.services.bookings import hooks, lifecycle
from teletherapy.services.bookings.hooks import Checkout
from teletherapy.services.bookings.queries import (
    PaymentChoices,
    booking_view,
    isoformat_z,
    payment_choices,
    taken_error,
)
from teletherapy.services.equity import recording as equity_recording
from teletherapy.services.matching import search as matching

logger = logging.getLogger(__name__)

SERIES_WEEKS = (2, 52)
MAX_HOLD_MINUTES = 24 * 60


@dataclass(frozen=True)
class BookingResult:
    """What booking made: one session, or every session of a weekly series (in order).

    `payment` is set when the sessions are held for payment and the caller asked
    for a checkout (the API); the page sends the client to the pay page instead.
    """

    bookings: list[Booking]
    is_series: bool
    payment: Checkout | None = None

    @property
    def first(self) -> Booking:
        return self.bookings[0]

    @property
    def is_held(self) -> bool:
        return self.first.hold_expires_at is not None


def hold_minutes_for(*, therapist_id: int) -> int | None:
    """THE hold-for-payment decision: minutes to hold a new booking, or None to confirm it."""
    return hold_minutes_from(payment_choices(therapist_id))


def hold_minutes_from(payment: PaymentChoices | None) -> int | None:
    """`hold_minutes_for` from the therapist's saved payment choices (None: never saved)."""
    methods = offered_methods(
        accepts_pay_now=bool(payment is not None and payment[0]),
        accepts_card_on_file=bool(payment is not None and payment[1]),
        accepts_pay_at_session=payment is None or bool(payment[2]),
        cards_enabled=payment_gateway() is not None,
    )
    return PAYMENT_HOLD_MINUTES if holds_for_payment(methods) else None


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
    checkout: bool = False,
) -> BookingResult:
    """Book one session (or a weekly series) in one transaction; see the module doc.

    `hold_minutes` overrides how long a hold lasts (the decision itself is
    `hold_minutes_for`); `checkout=True` also prepares the card payment of a held
    booking (after the commit).
    """
    _validate_booking_request(start, setting, repeat_weekly, hold_minutes, idempotency_key)
    request_hash = _request_hash(
        therapist_id=therapist_id,
        start=isoformat_z(start),
        setting=setting,
        repeat_weekly=repeat_weekly,
        hold_minutes=hold_minutes,
    )
    try:
        result = _book(
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
                result = _replay(record, request_hash)
                return _with_checkout(result, checkout=checkout, now=now)
        logger.info("booking refused by the overlap constraint therapist=%s", therapist_id)
        raise taken_error() from None
    except BaseException:
        db.session.rollback()
        raise
    return _with_checkout(result, checkout=checkout, now=now)


def _with_checkout(result: BookingResult, *, checkout: bool, now: datetime) -> BookingResult:
    if not checkout or result.first.status != BookingStatus.HELD:
        return result
    return replace(result, payment=hooks.payments().checkout(booking=result.first, now=now))


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
) -> BookingResult:
    if idempotency_key:
        record = _find_record(client_id, idempotency_key)
        if record is not None:
            return _replay(record, request_hash)
    # Everything that does not depend on the therapist's other bookings is read and
    # decided before the lock, so the lock is held only for the re-check and the writes.
    client = db.session.get(User, client_id)
    if client is None or client.role != Role.CLIENT.value or not client.is_active:
        raise ValidationError(
            "Only clients can book sessions.", errors={"client": ["Not a client."]}
        )
    # A refusal read from what is committed stands (bookings only ever take time away
    # until someone cancels): most losers of a contended slot stop here, without waiting.
    view = booking_view(therapist_id=therapist_id, client_id=client_id, now=now)
    starts = _check_slots(
        view.schedule, start, setting, repeat_weekly, now=now, is_new_client=view.is_new_client
    )
    fee_cents, fee_band = _price_for(
        therapist_id=therapist_id, client_id=client_id, setting=setting, now=now
    )
    # A single session waits for payment when the therapist takes cards at booking; a
    # weekly series is confirmed at once and paid per session (card on file or at it).
    hold = hold_minutes or (hold_minutes_from(view.payment) if repeat_weekly is None else None)
    # A session confirmed at once is announced at once: its invites and reminders are
    # written now (PostgreSQL), so the lock is held for the re-check and the writes only.
    prepared = (
        lifecycle.prepare_session(
            therapist_id=therapist_id,
            client_id=client_id,
            session=_new_sessions(view.schedule, starts, setting)[0],
            fee_cents=fee_cents,
            fee_band=fee_band,
            now=now,
        )
        if repeat_weekly is None and not hold
        else None
    )

    lock_therapist_calendar(therapist_id)
    if idempotency_key:  # a concurrent request with the same key may have just committed
        record = _find_record(client_id, idempotency_key)
        if record is not None:
            return _replay(record, request_hash)
    # Read again under the lock (a cancellation may have made them new since); lapsed
    # holds are marked expired in the same round trip.
    view = booking_view(therapist_id=therapist_id, client_id=client_id, now=now, locked=True)
    schedule = view.schedule
    zone = schedule.settings.time_zone
    starts = _check_slots(
        schedule, start, setting, repeat_weekly, now=now, is_new_client=view.is_new_client
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
    bookings = lifecycle.add_sessions(
        therapist_id=therapist_id,
        client_id=client_id,
        sessions=_new_sessions(schedule, starts, setting),
        fee_cents=fee_cents,
        fee_band=fee_band,
        series_id=series.id if series else None,
        hold_until=now + timedelta(minutes=hold) if hold else None,
        now=now,
        prepared=prepared,
    )
    # Time to care: the client's first search -> this first booking, kept only as hours.
    if view.first_search_pending:
        equity_recording.record_first_booking(client_id=client_id, first_start=starts[0], now=now)
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
    _commit_keeping(bookings)
    logger.info(
        "booked ids=%s therapist=%s client=%s held=%s",
        [b.id for b in bookings],
        therapist_id,
        client_id,
        bool(hold),
    )
    return BookingResult(bookings=bookings, is_series=series is not None)


def _commit_keeping(bookings: Sequence[Booking]) -> None:
    """Commit; the rows just booked keep the values written instead of being read back.

    The commit expires every loaded object, and the answer (ids, times, fee, status) would
    read each booking again: a round trip after every booking. Its columns have no
    server-side default or trigger, so what was written is what the database holds.
    """
    _, keys, null = written_columns(Booking)
    written = [
        (row, {key: row.__dict__.get(key) for key in keys if key in row.__dict__ or key in null})
        for row in bookings
    ]
    db.session.commit()
    for row, values in written:
        for key, value in values.items():
            set_committed_value(row, key, value)


def _new_sessions(
    schedule: Schedule, starts: Sequence[datetime], setting: str
) -> list[lifecycle.NewSession]:
    settings = schedule.settings
    return [
        lifecycle.NewSession(
            start=occurrence,
            end=occurrence + timedelta(minutes=settings.session_minutes),
            setting=setting,
            time_zone=settings.time_zone,
            buffer_minutes=settings.buffer_minutes,
            travel_buffer_minutes=settings.travel_buffer_minutes,
        )
        for occurrence in starts
    ]


def _check_slots(
    schedule: Schedule,
    start: datetime,
    setting: str,
    repeat_weekly: int | None,
    *,
    now: datetime,
    is_new_client: bool,
) -> list[datetime]:
    """The session starts to book, each checked with the slot engine (a 409 otherwise)."""
    if repeat_weekly is None:
        check_bookable(schedule, now, start, setting, is_new_client=is_new_client)
        return [start]
    starts = weekly_series_starts(start, schedule.settings.time_zone, repeat_weekly)
    _check_series(schedule, starts, setting, now=now, is_new_client=is_new_client)
    return starts


def _price_for(
    *, therapist_id: int, client_id: int, setting: str, now: datetime
) -> tuple[int, str | None]:
    """THE one place that prices a session: (fee_cents, fee_band) for this client.

    A client can book only a therapist matching would show them (licensed in their
    state, within reach, their band accepted with reduced-fee capacity left, ...):
    a 409 names the filter otherwise. The price is the therapist's price for the
    client's band, stored on the booking so later price changes do not touch it.
    """
    return matching.check_can_book(
        therapist_id=therapist_id, client_id=client_id, setting=setting, now=now
    )


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
                replace(
                    schedule,
                    settings=schedule.settings if index == 0 else later_settings,
                    booked=tuple(booked),
                ),
                now,
                occurrence,
                setting,
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


def _replay(record: IdempotencyRecord, request_hash: str) -> BookingResult:
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
    return BookingResult(bookings=bookings, is_series=bool(record.body.get("series")))
