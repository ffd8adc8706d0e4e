"""Bookings as calendar events: stable UIDs, discreet text, locations, series and links."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.utils import parseaddr
from urllib.parse import quote

from flask import current_app
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import inspect, select
from sqlalchemy.orm import joinedload

from teletherapy.domain.booking import BookingStatus, weekly_series_starts
from teletherapy.domain.errors import NotFoundError
from teletherapy.domain.vocabularies import initials
from teletherapy.extensions import db
from teletherapy.gateways import public_url
from teletherapy.gateways.ics import (
    IcsEvent,
    Method,
    Party,
    WeeklySeries,
    build_invite,
    google_calendar_url,
    outlook_calendar_url,
)
from teletherapy.i18n import format_instant
from teletherapy.models import (
    Booking,
    BookingCalendarEntry,
    BookingSeries,
    CalendarDetail,
    TherapistProfile,
    User,
)
from teletherapy.services.messaging.preferences import get_preferences

UID_DOMAIN = "teletherapy"
# Statuses whose session happens (or happened): shown as CONFIRMED; cancelled ones are not.
SHOWN_STATUSES = (
    BookingStatus.HELD,
    BookingStatus.CONFIRMED,
    BookingStatus.COMPLETED,
    BookingStatus.NO_SHOW,
)
LOCATION_TEXT = {
    "home": _l("Home visit"),
    "in_office": _l("In-office session (the address is on your booking page)"),
}


def organizer() -> Party:
    name, address = parseaddr(str(current_app.config["MAIL_FROM"]))
    return Party(address or "no-reply@localhost", name or "Teletherapy")


def is_discreet(person: User) -> bool:
    return get_preferences(person).calendar_detail == CalendarDetail.DISCREET.value


def organizer_for(person: User) -> Party:
    """Who a person's calendar says sent the event: in a discreet calendar, "Appointments"
    from `CALENDAR_ORGANIZER_EMAIL` (default: the mail sender's address), not the platform."""
    if not is_discreet(person):
        return organizer()
    address = current_app.config.get("CALENDAR_ORGANIZER_EMAIL") or organizer().email
    return Party(str(address), str(gettext("Appointments")))


def other_name(person: User, name: str) -> str:
    """The other person as the calendar names them: in full, or by initials if so chosen."""
    if get_preferences(person).calendar_detail == CalendarDetail.INITIALS.value:
        return initials(name)
    return name


def format_local(instant: datetime, time_zone: str, language: str = "en") -> str:
    """'Tue, Dec 1, 6:00 pm EST' (or 'mar, 1 dic, 18:00 EST'): the person's wall clock and zone."""
    return format_instant(instant, time_zone, language)


# --------------------------------------------------------------------------- identity


def default_uid(booking: Booking) -> str:
    if booking.series_id is not None:
        return f"series-{booking.series_id}@{UID_DOMAIN}"
    return f"booking-{booking.id}@{UID_DOMAIN}"


def calendar_identity(booking: Booking) -> tuple[str, datetime | None]:
    """(UID, original start within its series) without writing anything.

    A booking that replaced another (rescheduled into a new row) keeps the first one's
    identity, so calendars update the event they already hold.
    """
    if inspect(booking).transient and booking.rescheduled_from_id is None:
        # Not written yet (a new session announced before the calendar lock): nothing has
        # been recorded for an id just taken from the sequence.
        return default_uid(booking), booking.start_at if booking.series_id is not None else None
    seen: set[int] = set()
    current: Booking | None = booking
    while current is not None and current.id not in seen:
        seen.add(current.id)
        entry = db.session.get(BookingCalendarEntry, current.id)
        if entry is not None:
            return entry.uid, entry.recurrence_id
        if current.rescheduled_from_id is None:
            break
        current = db.session.get(Booking, current.rescheduled_from_id)
    root = current or booking
    return default_uid(root), root.start_at if root.series_id is not None else None


def ensure_entry(
    booking: Booking, *, like: Booking | None = None, fresh: bool = False
) -> BookingCalendarEntry:
    """Record the booking's calendar identity (copied from `like` when it replaces it).

    `fresh`: a single session inserted by this transaction, replacing nothing, so it has
    no entry yet and its identity is its own (nothing to look up).
    """
    if booking.id is None:
        db.session.flush()
    if fresh and like is None and booking.series_id is None and booking.rescheduled_from_id is None:
        new = BookingCalendarEntry(booking_id=booking.id, uid=default_uid(booking))
        db.session.add(new)
        return new
    entry = db.session.get(BookingCalendarEntry, booking.id)
    if entry is not None:
        return entry
    uid, recurrence_id = calendar_identity(like if like is not None else booking)
    entry = BookingCalendarEntry(booking_id=booking.id, uid=uid, recurrence_id=recurrence_id)
    db.session.add(entry)
    return entry


# --------------------------------------------------------------------------- people


def parties(booking: Booking) -> list[tuple[User, User | None]]:
    """(person, the other person) for the therapist and, if any, the client.

    A group member's own row of a meeting concerns the member only: the therapist's
    calendar has the meeting row.
    """
    therapist_profile = db.session.get(  # the profile and its account in one read
        TherapistProfile, booking.therapist_id, options=[joinedload(TherapistProfile.user)]
    )
    therapist = therapist_profile.user if therapist_profile is not None else None
    client = db.session.get(User, booking.client_id) if booking.client_id is not None else None
    pairs: list[tuple[User, User | None]] = []
    is_member_row = booking.group_id is not None and client is not None
    if therapist is not None and not is_member_row:
        pairs.append((therapist, client))
    if client is not None:
        pairs.append((client, therapist))
    return pairs


def party_of(booking: Booking, user_id: int) -> tuple[User, User | None]:
    for person, other in parties(booking):
        if person.id == user_id:
            return person, other
    raise NotFoundError("No such booking.")


def summary_for(person: User, other: User | None) -> str:
    """What the person's calendar shows: never clinical, named only if they chose so."""
    if is_discreet(person):
        return str(gettext("Appointment"))
    if other is None:
        return str(gettext("Group session"))
    return str(gettext("Session with %(name)s", name=other_name(person, other.display_name)))


def location_for(booking: Booking) -> str:
    if booking.setting == "online":
        return public_url(f"/sessions/{booking.id}/join")
    return str(LOCATION_TEXT.get(booking.setting, ""))


def _description(booking: Booking, *, discreet: bool = False) -> str:
    """The event's text; a discreet calendar leaves out the crisis line (988), whose
    presence alone says what the appointment is (reminder emails still carry it)."""
    lines = [gettext("Manage this session: %(link)s", link=public_url(f"/sessions/{booking.id}"))]
    if booking.setting == "online":
        lines.insert(0, gettext("Join online: %(link)s", link=location_for(booking)))
    if not discreet:
        lines.append(gettext("In a crisis, call or text 988 (press 2 for Spanish)."))
    return "\n".join(lines)


# --------------------------------------------------------------------------- events


def booking_event(
    booking: Booking, person: User, other: User | None, *, dtstamp: datetime
) -> IcsEvent:
    """One session (not part of a series) as the person's calendar should show it."""
    uid, _ = calendar_identity(booking)
    return IcsEvent(
        uid=uid,
        sequence=booking.ics_sequence,
        start=booking.start_at,
        end=booking.end_at,
        time_zone=person.time_zone,
        summary=summary_for(person, other),
        dtstamp=dtstamp,
        organizer=organizer_for(person),
        attendees=(Party(person.email, person.display_name),),
        description=_description(booking, discreet=is_discreet(person)),
        location=location_for(booking),
        url=public_url(f"/sessions/{booking.id}"),
        status="CONFIRMED" if booking.status in SHOWN_STATUSES else "CANCELLED",
    )


@dataclass(frozen=True)
class SeriesState:
    event: IcsEvent
    has_active: bool


def series_event(
    series: BookingSeries, person: User, other: User | None, *, dtstamp: datetime
) -> SeriesState:
    """A weekly series as one recurring event: EXDATE for cancelled weeks, overrides for moved.

    The rule is written in the series' zone (the therapist's), so the wall-clock time holds
    across daylight-saving changes for both people.
    """
    bookings = list(
        db.session.scalars(
            select(Booking).where(Booking.series_id == series.id).order_by(Booking.start_at)
        )
    )
    if not bookings:
        raise NotFoundError("No such series.")
    identities = {b.id: calendar_identity(b) for b in bookings}
    uid = f"series-{series.id}@{UID_DOMAIN}"
    originals = {b.id: identities[b.id][1] or b.start_at for b in bookings}
    anchor = min(originals.values())
    active = {originals[b.id]: b for b in bookings if b.status in SHOWN_STATUSES}
    first = active.get(anchor) or bookings[0]
    duration = first.end_at - first.start_at
    slots = weekly_series_starts(anchor, series.time_zone, series.count)
    summary = summary_for(person, other)
    base = IcsEvent(
        uid=uid,
        sequence=series.ics_sequence,
        start=anchor,
        end=anchor + duration,
        time_zone=series.time_zone,
        summary=summary,
        dtstamp=dtstamp,
        organizer=organizer_for(person),
        attendees=(Party(person.email, person.display_name),),
        description=_description(first, discreet=is_discreet(person)),
        location=location_for(first),
        url=public_url("/sessions"),
    )
    exdates = tuple(slot for slot in slots if slot not in active)
    overrides = []
    for slot in slots:
        moved = active.get(slot)
        if moved is None or (moved.start_at == slot and moved.end_at - moved.start_at == duration):
            continue
        overrides.append(
            IcsEvent(
                uid=uid,
                sequence=series.ics_sequence,
                start=moved.start_at,
                end=moved.end_at,
                time_zone=series.time_zone,
                summary=summary,
                dtstamp=dtstamp,
                organizer=base.organizer,
                attendees=base.attendees,
                description=_description(moved, discreet=is_discreet(person)),
                location=location_for(moved),
                url=public_url(f"/sessions/{moved.id}"),
                recurrence_id=slot,
            )
        )
    recurrence = WeeklySeries(count=series.count, exdates=exdates, overrides=tuple(overrides))
    event = IcsEvent(
        uid=base.uid,
        sequence=base.sequence,
        start=base.start,
        end=base.end,
        time_zone=base.time_zone,
        summary=base.summary,
        dtstamp=base.dtstamp,
        organizer=base.organizer,
        attendees=base.attendees,
        description=base.description,
        location=base.location,
        url=base.url,
        recurrence=recurrence,
    )
    return SeriesState(event, bool(active))


def invite_for(
    booking: Booking, person: User, other: User | None, *, now: datetime
) -> tuple[bytes, Method]:
    """The iMIP object for this booking (its whole series, if any) and its METHOD."""
    if booking.series_id is not None:
        series = db.session.get(BookingSeries, booking.series_id)
        if series is not None:
            state = series_event(series, person, other, dtstamp=now)
            method: Method = "REQUEST" if state.has_active else "CANCEL"
            return build_invite(state.event, method), method
    event = booking_event(booking, person, other, dtstamp=now)
    method = "REQUEST" if booking.status in SHOWN_STATUSES else "CANCEL"
    return build_invite(event, method), method


def get_invite_ics(*, booking_id: int, user_id: int, now: datetime) -> bytes:
    """The .ics download of a booking for one of its parties (anyone else: 404)."""
    booking = db.session.get(Booking, booking_id)
    if booking is None:
        raise NotFoundError("No such booking.")
    person, other = party_of(booking, user_id)
    ics, _ = invite_for(booking, person, other, now=now)
    return ics


@dataclass(frozen=True)
class CalendarLinks:
    """What the booking page offers: the .ics download and "add to" links."""

    booking_id: int
    ics_url: str
    google_url: str
    outlook_url: str


def calendar_links(*, booking_id: int, user_id: int, now: datetime) -> CalendarLinks:
    """Links for the booking page (render with templates/_partials/calendar_links.html)."""
    booking = db.session.get(Booking, booking_id)
    if booking is None:
        raise NotFoundError("No such booking.")
    person, other = party_of(booking, user_id)
    event = booking_event(booking, person, other, dtstamp=now)
    if booking.series_id is not None:
        series = db.session.get(BookingSeries, booking.series_id)
        if series is not None:
            event = series_event(series, person, other, dtstamp=now).event
    return CalendarLinks(
        booking_id=booking.id,
        ics_url=f"/calendar/bookings/{booking.id}/invite.ics",
        google_url=google_calendar_url(event),
        outlook_url=outlook_calendar_url(event),
    )


def invite_filename(booking_id: int) -> str:
    return quote(f"session-{booking_id}.ics")


def public_link(path: str) -> str:
    """A link on this site as mail, feeds and the API give it out (PUBLIC_URL's base)."""
    return public_url(path)
