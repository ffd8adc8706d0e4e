"""Private subscription feeds: tokens stored as hashes, PUBLISH feeds, cheap ETag/Last-Modified.

A token is shown once, when it is created or rotated: only its SHA-256 is stored, so
nobody (not even the settings page) can show it again. Losing it means rotating it.
"""

from __future__ import annotations

import hashlib
import secrets
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from flask_babel import gettext
from sqlalchemy import func, or_, select, update
from sqlalchemy.sql.elements import ColumnElement

from teletherapy.domain.booking import BookingStatus
from teletherapy.domain.errors import NotFoundError
from teletherapy.extensions import db
from teletherapy.gateways import public_url
from teletherapy.gateways.ics import IcsEvent, build_feed
from teletherapy.i18n import speaking_to
from teletherapy.models import (
    Booking,
    CalendarFeedToken,
    NotificationPreference,
    TherapistProfile,
    User,
)
from teletherapy.services.accounts.users import get_user, token_digest
from teletherapy.services.availability.schedules import is_therapist_time
from teletherapy.services.calendars.invites import (
    UID_DOMAIN,
    is_discreet,
    location_for,
    organizer_for,
    other_name,
)
from teletherapy.services.messaging.preferences import get_preferences

PAST_DAYS = 30
CANCELLED_SHOWN_DAYS = 30
REFRESH_MINUTES = 60
CALENDAR_NAME = "Teletherapy sessions"
FEED_STATUSES = (BookingStatus.CONFIRMED, BookingStatus.COMPLETED, BookingStatus.NO_SHOW)
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class FeedAddress:
    """The feed's addresses right after creation or rotation; None once shown."""

    url: str | None
    webcal_url: str | None
    created_at: datetime | None
    is_new: bool


@dataclass(frozen=True)
class FeedValidators:
    user_id: int
    etag: str
    last_modified: datetime


def _addresses(token: str) -> tuple[str, str]:
    url = public_url(f"/feeds/{token}.ics")
    return url, "webcal://" + url.split("://", 1)[1]


def _active_token(user_id: int) -> CalendarFeedToken | None:
    return db.session.scalar(
        select(CalendarFeedToken)
        .where(CalendarFeedToken.user_id == user_id, CalendarFeedToken.revoked_at.is_(None))
        .order_by(CalendarFeedToken.id.desc())
        .limit(1)
    )


def _create(user_id: int, now: datetime) -> FeedAddress:
    token = secrets.token_urlsafe(32)
    db.session.add(
        CalendarFeedToken(user_id=user_id, token_hash=token_digest(token), created_at=now)
    )
    db.session.commit()
    url, webcal = _addresses(token)
    return FeedAddress(url, webcal, now, True)


def get_or_create_feed(*, user_id: int, now: datetime) -> FeedAddress:
    """A new feed with its addresses; an existing one without them (they were shown once)."""
    get_user(user_id)
    current = _active_token(user_id)
    if current is not None:
        return FeedAddress(None, None, current.created_at, False)
    return _create(user_id, now)


def find_feed(*, user_id: int) -> FeedAddress | None:
    current = _active_token(user_id)
    return None if current is None else FeedAddress(None, None, current.created_at, False)


def _revoke_all(user_id: int, now: datetime) -> int:
    result = db.session.execute(
        update(CalendarFeedToken)
        .where(CalendarFeedToken.user_id == user_id, CalendarFeedToken.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def rotate_feed(*, user_id: int, now: datetime) -> FeedAddress:
    """Revoke the current address (it answers 404 from now on) and create a new one."""
    get_user(user_id)
    _revoke_all(user_id, now)
    return _create(user_id, now)


def revoke_feed(*, user_id: int, now: datetime) -> int:
    """Revoke the person's feed addresses; returns how many were active."""
    count = _revoke_all(user_id, now)
    db.session.commit()
    return count


# --------------------------------------------------------------------------- the feed


def _owner(token: str) -> tuple[CalendarFeedToken, User]:
    row = db.session.scalar(
        select(CalendarFeedToken).where(
            CalendarFeedToken.token_hash == token_digest(token),
            CalendarFeedToken.revoked_at.is_(None),
        )
    )
    user = db.session.get(User, row.user_id) if row is not None else None
    if row is None or user is None or not user.is_active:
        raise NotFoundError("No such feed.")
    return row, user


def _whose(user: User) -> ColumnElement[bool]:
    if user.therapist is not None:
        # A group meeting appears once (its own row), not once per member.
        return (Booking.therapist_id == user.therapist.id) & is_therapist_time()
    return Booking.client_id == user.id


def _window(now: datetime) -> ColumnElement[bool]:
    """Sessions from 30 days ago on; cancelled ones only for 30 days after cancelling."""
    return (Booking.start_at >= now - timedelta(days=PAST_DAYS)) & or_(
        Booking.status.in_(FEED_STATUSES),
        (Booking.status == BookingStatus.CANCELLED)
        & (
            func.coalesce(Booking.cancelled_at, Booking.updated_at)
            >= now - timedelta(days=CANCELLED_SHOWN_DAYS)
        ),
    )


def _validators(token_row: CalendarFeedToken, user: User, now: datetime) -> FeedValidators:
    count, latest = db.session.execute(
        select(func.count(Booking.id), func.max(Booking.updated_at)).where(
            _whose(user), _window(now)
        )
    ).one()
    preference = db.session.get(NotificationPreference, user.id)
    # Aggregates may bypass the UTCDateTime type (SQLite can give a naive value).
    latest_booking = _as_utc(latest) if latest is not None else EPOCH
    stamps = [token_row.created_at, preference.updated_at if preference else EPOCH, latest_booking]
    last_modified = max(stamps).replace(microsecond=0)
    detail = get_preferences(user).calendar_detail
    raw = ":".join(
        [
            str(token_row.id),
            str(count),
            *(s.isoformat() for s in stamps),
            detail,
            user.time_zone,
            user.language,  # the feed's text is in the owner's language
        ]
    )
    etag = hashlib.sha256(raw.encode()).hexdigest()[:32]
    return FeedValidators(user.id, etag, last_modified)


def _as_utc(value: Any) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def feed_validators(*, token: str, now: datetime) -> FeedValidators:
    """ETag and Last-Modified from one aggregate query: enough to answer 304."""
    token_row, user = _owner(token)
    return _validators(token_row, user, now)


# Built feeds by (token hash, ETag): calendar apps that poll without conditional headers
# get the same bytes without a rebuild. Small, per process; a changed ETag is a new key.
_BUILT: OrderedDict[tuple[str, str], bytes] = OrderedDict()
BUILT_CACHE_SIZE = 32


def clear_feed_cache() -> None:
    _BUILT.clear()


def build_feed_for_token(*, token: str, now: datetime) -> tuple[bytes, str, datetime]:
    """(the feed's bytes, ETag, Last-Modified) for a valid token; unknown or revoked: 404."""
    token_row, user = _owner(token)
    validators = _validators(token_row, user, now)
    key = (token_row.token_hash, validators.etag)
    cached = _BUILT.get(key)
    if cached is not None:
        _BUILT.move_to_end(key)
        return cached, validators.etag, validators.last_modified
    with speaking_to(user):
        body = _build(user, now)
    _BUILT[key] = body
    while len(_BUILT) > BUILT_CACHE_SIZE:
        _BUILT.popitem(last=False)
    return body, validators.etag, validators.last_modified


def _build(user: User, now: datetime) -> bytes:
    bookings = list(
        db.session.scalars(
            select(Booking).where(_whose(user), _window(now)).order_by(Booking.start_at)
        )
    )
    discreet = is_discreet(user)
    names = {} if discreet else _other_names(user, bookings)
    host = organizer_for(user)
    events = []
    for booking in bookings:
        if not discreet:
            other = names.get(booking.id)
            summary = (
                gettext("Session with %(name)s", name=other_name(user, other))
                if other
                else gettext("Group session")
            )
        else:
            summary = gettext("Appointment")
        events.append(
            IcsEvent(
                uid=f"feed-booking-{booking.id}@{UID_DOMAIN}",
                sequence=booking.ics_sequence,
                start=booking.start_at,
                end=booking.end_at,
                time_zone=user.time_zone,
                summary=summary,
                dtstamp=booking.updated_at,
                organizer=host,
                description=gettext(
                    "Manage this session: %(link)s", link=public_url(f"/sessions/{booking.id}")
                ),
                location=location_for(booking),
                url=public_url(f"/sessions/{booking.id}"),
                status="CANCELLED" if booking.status == BookingStatus.CANCELLED else "CONFIRMED",
            )
        )
    # A discreet feed's name says nothing about therapy: it shows in the calendar list.
    name = str(gettext("Appointments")) if discreet else CALENDAR_NAME
    return build_feed(events, name, refresh_minutes=REFRESH_MINUTES)


def _other_names(user: User, bookings: list[Booking]) -> dict[int, str]:
    """booking id -> the other person's name, in one query for the whole feed."""
    if user.therapist is not None:
        client_ids = {b.client_id for b in bookings if b.client_id is not None}
        rows = db.session.execute(
            select(User.id, User.display_name).where(User.id.in_(client_ids))
        ).all()
        by_client = {row[0]: row[1] for row in rows}
        return {
            b.id: by_client[b.client_id]
            for b in bookings
            if b.client_id is not None and b.client_id in by_client
        }
    therapist_ids = {b.therapist_id for b in bookings}
    rows = db.session.execute(
        select(TherapistProfile.id, TherapistProfile.display_name).where(
            TherapistProfile.id.in_(therapist_ids)
        )
    ).all()
    by_therapist = {row[0]: row[1] for row in rows}
    return {b.id: by_therapist[b.therapist_id] for b in bookings if b.therapist_id in by_therapist}
