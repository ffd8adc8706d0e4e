"""Compose messages (from templates, in the person's language and zone) into the outbox.

The booking service calls the `on_booking_*` hooks inside its own transaction, so
invites and reminders commit (or roll back) with the change that causes them. The
hooks own the calendar bookkeeping: they record each booking's UID and raise its
SEQUENCE (or its series') on every change.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update

from teletherapy.domain.booking import BookingStatus
from teletherapy.domain.reminders import reminder_times, usefulness_deadline
from teletherapy.extensions import db
from teletherapy.gateways import public_url
from teletherapy.i18n import speaking_to
from teletherapy.models import (
    Booking,
    BookingCalendarEntry,
    BookingSeries,
    OutboxMessage,
    OutboxStatus,
    User,
)
from teletherapy.services.calendars.invites import (
    SHOWN_STATUSES,
    calendar_identity,
    default_uid,
    ensure_entry,
    format_local,
    invite_for,
    location_for,
    parties,
)
from teletherapy.services.messaging import outbox
from teletherapy.services.messaging.messages import render_email
from teletherapy.services.messaging.preferences import get_preferences, read_preferences_of
from teletherapy.services.messaging.rows import insert_by_value

logger = logging.getLogger(__name__)

REMINDER_KIND = "reminder"
# Links other features add to a client's reminder without messaging importing them
# (services/screening registers its check-in link). Each returns a URL or None.
CLIENT_REMINDER_LINKS: list[Callable[[Booking], str | None]] = []
INVITE_KINDS = ("booking_confirmed", "booking_rescheduled", "booking_cancelled")
# Each message is rendered in its recipient's language (teletherapy.i18n.speaking_to).
_HEADLINES = {
    "booking_confirmed": _l("Your session is booked"),
    "series_confirmed": _l("Your weekly sessions are booked"),
    "booking_rescheduled": _l("Your session has moved"),
    "booking_cancelled": _l("Your session is cancelled"),
    "reminder": _l("Reminder: your session"),
}


# --------------------------------------------------------------------------- hooks


def on_booking_confirmed(
    *,
    booking: Booking,
    now: datetime,
    fresh: bool = False,
    prepared: PreparedNotices | None = None,
) -> None:
    """Invite both parties (the whole series for a series) and schedule their reminders.

    `fresh`: a single session inserted by this transaction, so no message of it exists
    yet to replace or skip (three queries per party fewer while the calendar is locked).
    `prepared`: what `prepare_booking_confirmed` wrote for this very row before the lock;
    used as it is when the row is still what it was written for.
    """
    if prepared is not None and fresh and prepared.fits(booking):
        insert_by_value(prepared.rows)
        return
    fresh = fresh and booking.series_id is None
    covered = _reminded_bookings(booking)
    # Every week's original start is recorded now, before any of them can move. The
    # entries are held here: the session's identity map keeps unchanged rows only weakly,
    # and each invite below would read a dropped entry back from the database.
    _entries = [ensure_entry(session, fresh=fresh) for session in {booking, *covered}]
    kind = "series_confirmed" if booking.series_id is not None else "booking_confirmed"
    pairs = parties(booking)
    read_preferences_of([person for person, _ in pairs])
    # A fresh session's messages look nothing up, so they are written in one INSERT at the
    # next flush instead of one per query that would flush them in between.
    with db.session.no_autoflush if fresh else contextlib.nullcontext():
        for person, other in pairs:
            _enqueue_notice(booking, person, other, kind=kind, now=now, fresh=fresh)
            _enqueue_reminders(covered, person, now=now, fresh=fresh)


@dataclass(frozen=True)
class PreparedNotices:
    """A new single session's calendar entry, invites and reminders, written in full
    before the therapist's calendar is locked (none of it depends on their other bookings)
    and added under the lock only if the row booked is the one they were written for."""

    written_for: tuple[Any, ...]
    rows: tuple[Any, ...]

    def fits(self, booking: Booking) -> bool:
        return _what_notices_say(booking) == self.written_for


def _what_notices_say(booking: Booking) -> tuple[Any, ...]:
    return (
        booking.id,
        booking.therapist_id,
        booking.client_id,
        booking.group_id,
        booking.series_id,
        booking.rescheduled_from_id,
        booking.status,
        booking.hold_expires_at,
        booking.setting,
        booking.start_at,
        booking.end_at,
        booking.video_room,
        booking.ics_sequence,
    )


def prepare_booking_confirmed(*, booking: Booking, now: datetime) -> PreparedNotices:
    """What `on_booking_confirmed(fresh=True)` writes for `booking`: a confirmed single
    session not yet in the database whose id is already taken from its sequence.

    Nothing is added to the transaction: the caller passes the result back to
    `on_booking_confirmed` under the lock, where a changed row makes it compose afresh.
    What the notices read besides the row (the parties, their preferences and language,
    the screening cadence behind a reminder's check-in link) is read before the lock: a
    change of those committed meanwhile is as one committed just after the booking.
    """
    assert booking.id is not None and booking.series_id is None
    assert booking.status == BookingStatus.CONFIRMED
    rows: list[Any] = [BookingCalendarEntry(booking_id=booking.id, uid=default_uid(booking))]
    pairs = parties(booking)
    read_preferences_of([person for person, _ in pairs])
    for person, other in pairs:
        rows.append(_notice(booking, person, other, kind="booking_confirmed", now=now)[0])
        rows += _reminders([booking], person, now=now, existing=set())
    return PreparedNotices(written_for=_what_notices_say(booking), rows=tuple(rows))


def on_booking_rescheduled(*, old: Booking, new: Booking, now: datetime) -> None:
    """Update both calendars (same UID, higher SEQUENCE) and replace pending reminders.

    `new` may be `old` moved in place or a new row replacing it; either way it keeps
    the calendar identity of `old`.
    """
    ensure_entry(old)
    ensure_entry(new, like=old)
    _bump_sequence(new, previous=old)
    _cancel_pending_reminders({old.id, new.id}, now=now)
    for person, other in parties(new):
        _enqueue_notice(new, person, other, kind="booking_rescheduled", now=now)
        _enqueue_reminders([new] if new.status == BookingStatus.CONFIRMED else [], person, now=now)


def on_booking_cancelled(*, booking: Booking, now: datetime) -> None:
    """CANCEL in both calendars (or remove the week from the series) and stop reminders."""
    ensure_entry(booking)
    _bump_sequence(booking, previous=booking)
    _cancel_pending_reminders({booking.id}, now=now)
    for person, other in parties(booking):
        _enqueue_notice(booking, person, other, kind="booking_cancelled", now=now)


# --------------------------------------------------------------------------- invites


def _bump_sequence(booking: Booking, *, previous: Booking) -> None:
    """SEQUENCE goes up on every change; a series has one counter for all its weeks."""
    if booking.series_id is not None:
        series = db.session.get(BookingSeries, booking.series_id)
        if series is not None:
            series.ics_sequence += 1
            return
    booking.ics_sequence = max(booking.ics_sequence or 0, (previous.ics_sequence or 0) + 1)


def _sequence(booking: Booking) -> int:
    if booking.series_id is not None:
        series = db.session.get(BookingSeries, booking.series_id)
        if series is not None:
            return series.ics_sequence
    return booking.ics_sequence


def _enqueue_notice(
    booking: Booking,
    person: User,
    other: User | None,
    *,
    kind: str,
    now: datetime,
    fresh: bool = False,
) -> None:
    """One email with the invite; a later version for the same person replaces a pending one.

    Called once per occurrence when a series is booked, the pending row of that version
    is rewritten rather than duplicated, so the last call (which sees every week) wins.
    """
    if not fresh:
        db.session.flush()
    notice, prefix = _notice(booking, person, other, kind=kind, now=now)
    key = notice.dedupe_key
    existing = (
        None
        if fresh
        else db.session.scalar(select(OutboxMessage).where(OutboxMessage.dedupe_key == key))
    )
    if existing is not None:
        if existing.status == OutboxStatus.PENDING.value:
            existing.subject, existing.body_text = notice.subject, notice.body_text
            existing.body_html, existing.ics, existing.kind = notice.body_html, notice.ics, kind
        return
    # An older version nobody has received yet is superseded by this one.
    if not fresh:
        _supersede(person.id, prefix)
    db.session.add(notice)


def _notice(
    booking: Booking, person: User, other: User | None, *, kind: str, now: datetime
) -> tuple[OutboxMessage, str]:
    """The notice written for `person` (not yet added anywhere) and its key's prefix."""
    with speaking_to(person) as language:
        ics, method = invite_for(booking, person, other, now=now)
        uid, _ = calendar_identity(booking)
        prefix = f"ics-{uid}-{person.id}-"
        context: dict[str, Any] = {
            "person": person,
            "other": other,
            "lang": language,
            "headline": str(_HEADLINES[kind]),
            "when": format_local(_shown_start(booking, kind), person.time_zone, language),
            "is_series": kind == "series_confirmed",
            "setting": booking.setting,
            "location": location_for(booking),
            "manage_url": public_url(f"/sessions/{booking.id}"),
            "sessions_url": public_url("/sessions"),
            # A client whose therapist called a session off is offered another time.
            "rebook_url": (
                public_url(f"/sessions/book/{booking.therapist_id}")
                if kind == "booking_cancelled"
                and booking.cancelled_by == "therapist"
                and booking.group_id is None
                and person.id == booking.client_id
                else None
            ),
            "is_cancelled": method == "CANCEL" or booking.status not in SHOWN_STATUSES,
        }
        subject, body_text, body_html = _written("session_notice", context)
    notice = outbox.message(
        kind=kind,
        to_address=person.email,
        subject=subject,
        body_text=body_text,
        body_html=body_html,
        user_id=person.id,
        booking_id=booking.id,
        ics=ics,
        ics_method=method,
        due_at=now,
        dedupe_key=f"{prefix}{_sequence(booking)}-{method}",
    )
    return notice, prefix


def _written(template: str, context: dict[str, Any]) -> tuple[str, str, str]:
    """(subject, text, HTML) of a session message, in the language being spoken."""
    subject = gettext("%(headline)s: %(when)s", headline=context["headline"], when=context["when"])
    return (
        subject,
        render_email(f"email/{template}.txt", **context),
        render_email(f"email/{template}.html", **context),
    )


def _supersede(person_id: int, prefix: str) -> None:
    db.session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.user_id == person_id,
            OutboxMessage.status == OutboxStatus.PENDING.value,
            OutboxMessage.dedupe_key.like(prefix + "%"),
        )
        .values(status=OutboxStatus.CANCELLED.value, dedupe_key=None)
        .execution_options(synchronize_session=False)
    )


def _shown_start(booking: Booking, kind: str) -> datetime:
    """The start a message names: a booked series names its first week, not the latest one."""
    if kind != "series_confirmed" or booking.series_id is None:
        return booking.start_at
    first = db.session.scalar(
        select(func.min(Booking.start_at)).where(
            Booking.series_id == booking.series_id, Booking.status.in_(SHOWN_STATUSES)
        )
    )
    if first is None:
        return booking.start_at
    return first if first.tzinfo is not None else first.replace(tzinfo=UTC)


# --------------------------------------------------------------------------- reminders


def _reminded_bookings(booking: Booking) -> list[Booking]:
    """The sessions a confirmation covers: the booking, or every confirmed week of its series."""
    if booking.series_id is None:
        return [booking] if booking.status == BookingStatus.CONFIRMED else []
    db.session.flush()
    return list(
        db.session.scalars(
            select(Booking)
            .where(
                Booking.series_id == booking.series_id, Booking.status == BookingStatus.CONFIRMED
            )
            .order_by(Booking.start_at)
        )
    )


def _client_link(booking: Booking) -> str | None:
    return next((url for hook in CLIENT_REMINDER_LINKS if (url := hook(booking))), None)


def reminder_key(booking: Booking, user_id: int, offset: int) -> str:
    """One reminder per booking, person, offset and start (a moved session is a new one)."""
    stamp = booking.start_at.strftime("%Y%m%dT%H%MZ")
    return f"reminder-{booking.id}-{user_id}-{offset}-{stamp}"


def _reminder_keys(bookings: list[Booking], person: User) -> set[str | None]:
    return set(
        db.session.scalars(
            select(OutboxMessage.dedupe_key).where(
                OutboxMessage.kind == REMINDER_KIND,
                OutboxMessage.user_id == person.id,
                OutboxMessage.booking_id.in_([b.id for b in bookings]),
            )
        )
    )


def _enqueue_reminders(
    bookings: list[Booking], person: User, *, now: datetime, fresh: bool = False
) -> int:
    """Reminders at the person's offsets; those already past their usefulness are skipped."""
    if not bookings or not get_preferences(person).active_offsets:
        return 0
    existing = set() if fresh else _reminder_keys(bookings, person)
    rows = _reminders(bookings, person, now=now, existing=existing)
    db.session.add_all(rows)
    return len(rows)


def _reminders(
    bookings: list[Booking], person: User, *, now: datetime, existing: set[str | None]
) -> list[OutboxMessage]:
    """The reminders to write (not yet added anywhere), skipping the keys in `existing`."""
    offsets = get_preferences(person).active_offsets
    if not bookings or not offsets:
        return []
    rows: list[OutboxMessage] = []
    for booking in bookings:
        due = [
            (due_at, deadline, key)
            for offset, due_at in reminder_times(booking.start_at, offsets)
            if (deadline := usefulness_deadline(booking.start_at, offset)) >= now
            and (key := reminder_key(booking, person.id, offset)) not in existing
        ]
        if not due:
            continue
        # Every reminder of one session says the same: written once, queued per offset.
        with speaking_to(person) as language:
            context: dict[str, Any] = {
                "person": person,
                "lang": language,
                "headline": str(_HEADLINES["reminder"]),
                "when": format_local(booking.start_at, person.time_zone, language),
                "setting": booking.setting,
                "location": location_for(booking),
                "manage_url": public_url(f"/sessions/{booking.id}"),
                "checkin_url": (_client_link(booking) if person.id == booking.client_id else None),
            }
            subject, body_text, body_html = _written("reminder", context)
        for due_at, deadline, key in due:
            rows.append(
                outbox.message(
                    kind=REMINDER_KIND,
                    to_address=person.email,
                    subject=subject,
                    body_text=body_text,
                    body_html=body_html,
                    user_id=person.id,
                    booking_id=booking.id,
                    due_at=due_at,
                    expires_at=deadline,
                    dedupe_key=key,
                )
            )
            existing.add(key)
    return rows


def rewrite_client_reminders(*, client_id: int, therapist_id: int, now: datetime) -> int:
    """Write again the client's pending reminders of upcoming sessions with this therapist.

    What a reminder links (the screening check-in) is decided when it is written; when the
    therapist changes how often the client is asked, the queued reminders follow. Reminders
    already sent are kept (their keys stay taken). Returns how many were written.
    """
    client = db.session.get(User, client_id)
    if client is None:
        return 0
    upcoming = list(
        db.session.scalars(
            select(Booking)
            .where(
                Booking.client_id == client_id,
                Booking.therapist_id == therapist_id,
                Booking.group_id.is_(None),
                Booking.status == BookingStatus.CONFIRMED,
                Booking.start_at > now,
            )
            .order_by(Booking.start_at)
        )
    )
    if not upcoming:
        return 0
    _cancel_pending_reminders({b.id for b in upcoming}, now=now, user_id=client_id)
    return _enqueue_reminders(upcoming, client, now=now)


def _cancel_pending_reminders(
    booking_ids: set[int], *, now: datetime, user_id: int | None = None
) -> int:
    """Pending reminders of these bookings (to one person, or to all) will not be sent;
    their keys are freed."""
    to_whom = () if user_id is None else (OutboxMessage.user_id == user_id,)
    result = db.session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.kind == REMINDER_KIND,
            OutboxMessage.booking_id.in_(sorted(booking_ids)),
            OutboxMessage.status == OutboxStatus.PENDING.value,
            *to_whom,
        )
        .values(status=OutboxStatus.CANCELLED.value, dedupe_key=None, last_error="booking changed")
        .execution_options(synchronize_session=False)
    )
    count = int(getattr(result, "rowcount", 0) or 0)
    logger.info("cancelled %s pending reminders of bookings %s", count, sorted(booking_ids))
    return count
