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
from typing import Any, NamedTuple, cast

from flask import current_app
from flask_babel import gettext
from sqlalchemy import LargeBinary, String, and_, func, literal, or_, select, text, update
from sqlalchemy import cast as cast_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.sql.elements import ColumnElement

from teletherapy.domain.booking import BookingStatus
from teletherapy.domain.errors import NotFoundError
from teletherapy.domain.vocabularies import AccountStatus, initials
from teletherapy.extensions import db
from teletherapy.gateways import public_url
from teletherapy.gateways.ics import (
    IcsEvent,
    assemble_feed,
    feed_zone_windows,
    render_feed_event,
)
from teletherapy.i18n import speaking_to
from teletherapy.models import (
    Booking,
    BookingFeedText,
    CalendarDetail,
    CalendarFeedToken,
    NotificationPreference,
    TherapistProfile,
    User,
)
from teletherapy.services.accounts.users import get_user, token_digest
from teletherapy.services.availability.schedules import is_therapist_time
from teletherapy.services.calendars.invites import (
    LOCATION_TEXT,
    UID_DOMAIN,
    location_for,
    organizer_for,
)
from teletherapy.services.messaging.preferences import default_detail, get_preferences

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


def _whose(user: User) -> ColumnElement[bool]:
    if user.therapist is not None:
        # A group meeting appears once (its own row), not once per member.
        return (Booking.therapist_id == user.therapist.id) & is_therapist_time()
    return Booking.client_id == user.id


def _day(now: datetime) -> datetime:
    """The start of `now`'s UTC day: the window moves once a day, so a feed's content is a
    function of its sessions and the day, and an unchanged stamp answers 304 all day."""
    return now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def _window(now: datetime) -> ColumnElement[bool]:
    """Sessions from 30 days ago on; cancelled ones only for 30 days after cancelling."""
    day = _day(now)
    return (Booking.start_at >= day - timedelta(days=PAST_DAYS)) & or_(
        Booking.status.in_(FEED_STATUSES),
        (Booking.status == BookingStatus.CANCELLED)
        & (
            func.coalesce(Booking.cancelled_at, Booking.updated_at)
            >= day - timedelta(days=CANCELLED_SHOWN_DAYS)
        ),
    )


def _validators(token: str, now: datetime) -> FeedValidators:
    """ETag and Last-Modified from one row (the token, its owner and their preferences),
    unknown or revoked tokens and inactive owners: 404."""
    T, U, P = CalendarFeedToken, User, NotificationPreference
    row = db.session.execute(
        select(
            T.id,
            T.created_at,
            T.changed_at,
            U.id.label("user_id"),
            U.status,
            U.role,
            U.time_zone,
            U.language,
            P.calendar_detail,
            P.updated_at.label("preferences_at"),
        )
        .join(U, U.id == T.user_id)
        .outerjoin(P, P.user_id == U.id)
        .where(T.token_hash == token_digest(token), T.revoked_at.is_(None))
    ).one_or_none()
    if row is None or row.status != AccountStatus.ACTIVE:
        raise NotFoundError("No such feed.")
    stamps = [
        _as_utc(row.created_at),
        _as_utc(row.changed_at) if row.changed_at is not None else EPOCH,
        _as_utc(row.preferences_at) if row.preferences_at is not None else EPOCH,
    ]
    last_modified = max(stamps).replace(microsecond=0)
    detail = row.calendar_detail or default_detail(row.role)
    raw = ":".join(
        [
            str(row.id),
            *(s.isoformat() for s in stamps),
            _day(now).date().isoformat(),  # the window moves once a day
            detail,
            row.time_zone,
            row.language,  # the feed's text is in the owner's language
        ]
    )
    etag = hashlib.sha256(raw.encode()).hexdigest()[:32]
    return FeedValidators(row.user_id, etag, last_modified)


def _as_utc(value: Any) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def feed_validators(*, token: str, now: datetime) -> FeedValidators:
    """ETag and Last-Modified from one row: enough to answer 304."""
    return _validators(token, now)


# Built feeds by (token hash, ETag): calendar apps that poll without conditional headers
# get the same bytes without a rebuild. Small, per process; a changed ETag is a new key.
_BUILT: OrderedDict[tuple[str, str], bytes] = OrderedDict()
BUILT_CACHE_SIZE = 32


def clear_feed_cache() -> None:
    _BUILT.clear()


def build_feed_for_token(
    *, token: str, now: datetime, validators: FeedValidators | None = None
) -> tuple[bytes, str, datetime]:
    """(the feed's bytes, ETag, Last-Modified) for a valid token; unknown or revoked: 404.

    `validators`: what feed_validators answered for this token a moment ago (not read
    again)."""
    if validators is None:
        validators = feed_validators(token=token, now=now)
    key = (token_digest(token), validators.etag)
    cached = _BUILT.get(key)
    if cached is not None:
        _BUILT.move_to_end(key)
        return cached, validators.etag, validators.last_modified
    user = db.session.get(User, validators.user_id)
    assert user is not None
    with speaking_to(user):
        body = _build(user, now)
    _BUILT[key] = body
    while len(_BUILT) > BUILT_CACHE_SIZE:
        _BUILT.popitem(last=False)
    return body, validators.etag, validators.last_modified


def _build(user: User, now: datetime) -> bytes:
    """The feed from each booking's kept text (BookingFeedText): only bookings whose text
    differs from what it would be now (a new SEQUENCE, a new DTSTAMP, another name or
    another shared context) are rendered again, and kept in the same commit."""
    audience = "therapist" if user.therapist is not None else "client"
    # Read before keeping texts commits (and expires the user: no reload afterwards).
    time_zone = user.time_zone
    in_feed = _whose(user) & _window(now)
    detail = get_preferences(user).calendar_detail
    named = detail != CalendarDetail.DISCREET.value
    host = organizer_for(user)
    # What every event of this feed shares, translated once (gettext per event was most
    # of a build): the texts' templates, the viewer's zone, the links' base, the host.
    with_name = gettext("Session with %(name)s")
    group = gettext("Group session")
    appointment = gettext("Appointment")
    manage = gettext("Manage this session: %(link)s")
    places = {setting: str(label) for setting, label in LOCATION_TEXT.items()}
    base = public_url("/")
    shared = repr(
        (with_name, group, appointment, manage, places, time_zone, base, host, named, detail)
    )
    context = hashlib.sha1(shared.encode(), usedforsecurity=False).hexdigest()[:12]
    fresh: list[dict[str, Any]] = []
    for booking in _stale(in_feed, audience, context, named):
        other = booking.other_name if named else None
        if other and detail == CalendarDetail.INITIALS.value:  # initials only
            other = initials(other)
        summary = (with_name % {"name": other} if other else group) if named else appointment
        link = public_url(f"/sessions/{booking.id}")
        body = render_feed_event(
            IcsEvent(
                uid=_uid(booking.id),
                sequence=booking.ics_sequence,
                start=booking.start_at,
                end=booking.end_at,
                time_zone=time_zone,
                summary=summary,
                dtstamp=booking.updated_at,
                organizer=host,
                description=manage % {"link": link},
                location=location_for(cast(Booking, booking)),
                url=link,
                status="CANCELLED" if booking.status == BookingStatus.CANCELLED else "CONFIRMED",
            )
        )
        fresh.append(
            {
                "booking_id": booking.id,
                "audience": audience,
                "fingerprint": booking.expected,
                "sequence": booking.ics_sequence,
                "stamped_at": booking.updated_at,
                "body": body,
            }
        )
    if fresh:
        _keep(fresh)
    texts, first, last = _kept_texts(in_feed, audience)
    windows = feed_zone_windows(time_zone, [first, last] if texts else [])
    # A discreet feed's name says nothing about therapy: it shows in the calendar list.
    name = CALENDAR_NAME if named else str(gettext("Appointments"))
    return assemble_feed([texts], windows, name, refresh_minutes=REFRESH_MINUTES)


def _name_key() -> str:
    """The key of the names' digests, from the app's secret: a digest of a name alone could
    be found again from a list of names (and an initials-only feed shows no full name)."""
    secret = str(current_app.config["SECRET_KEY"])
    return hashlib.sha256(f"feed-names:{secret}".encode()).hexdigest()[:32]


def _name_digest(key: str, name: str | None) -> str:
    """What a kept text's fingerprint holds of the other party's name: a keyed digest (the
    name itself is not kept beside a text that may show initials or nothing); the same
    as PostgreSQL's left(md5(key || name), 27)."""
    if not name:
        return ""
    return hashlib.md5((key + name).encode(), usedforsecurity=False).hexdigest()[:27]


class _StaleRow(NamedTuple):
    id: int
    therapist_id: int
    start_at: datetime
    end_at: datetime
    setting: str
    status: str
    ics_sequence: int
    updated_at: datetime
    other_name: str | None
    expected: str  # the fingerprint its text is kept under


def _stale(
    in_feed: ColumnElement[bool], audience: str, context: str, named: bool
) -> list[_StaleRow]:
    """The feed's bookings whose kept text is missing or differs from what it would be
    now, with what rendering them needs. PostgreSQL compares everything in the query (a
    build after one change reads one row); SQLite has no md5, so it compares SEQUENCE and
    DTSTAMP in the query and the names' digests here, then reads the stale rows whole."""
    kept = BookingFeedText
    # The other person's name comes with each row (a join, not a second query).
    other: Any = User if audience == "therapist" else TherapistProfile
    to_other = (
        User.id == Booking.client_id
        if audience == "therapist"
        else TherapistProfile.id == Booking.therapist_id
    )
    name = other.display_name
    key = _name_key()
    connection = db.session.connection()
    is_postgresql = connection.dialect.name == "postgresql"
    expected: ColumnElement[str] = literal(f"{context}:")
    if named and is_postgresql:
        keyed = literal(key) + func.nullif(name, "")
        expected = expected + func.coalesce(func.left(func.md5(keyed), 27), "")
    changed = or_(
        kept.sequence.is_distinct_from(Booking.ics_sequence),
        kept.stamped_at.is_distinct_from(Booking.updated_at),
    )
    joined = (
        select()
        .select_from(Booking)
        .outerjoin(kept, and_(kept.booking_id == Booking.id, kept.audience == audience))
        .outerjoin(other, to_other)
        .where(in_feed)
    )
    whole = joined.add_columns(
        Booking.id,
        Booking.therapist_id,
        Booking.start_at,
        Booking.end_at,
        Booking.setting,
        Booking.status,
        Booking.ics_sequence,
        Booking.updated_at,
        name.label("other_name"),
        expected.label("expected"),
    )
    if is_postgresql or not named:
        stale = or_(changed, kept.fingerprint.is_distinct_from(expected))
        return [_StaleRow._make(row) for row in connection.execute(whole.where(stale))]
    made: dict[int, str] = {}
    digests: dict[str | None, str] = {}
    light = joined.add_columns(Booking.id, name, kept.fingerprint, changed.label("changed"))
    for row in connection.execute(light):
        digest = digests.get(row.display_name)
        if digest is None:
            digest = f"{context}:{_name_digest(key, row.display_name)}"
            digests[row.display_name] = digest
        if row.changed or row.fingerprint != digest:
            made[row.id] = digest
    ids = sorted(made)
    found: list[_StaleRow] = []
    for start in range(0, len(ids), 500):
        rows = connection.execute(whole.where(Booking.id.in_(ids[start : start + 500])))
        found.extend(_StaleRow._make((*row[:9], made[row.id])) for row in rows)
    return found


def _kept_texts(in_feed: ColumnElement[bool], audience: str) -> tuple[bytes, datetime, datetime]:
    """The feed's kept event texts joined in build_feed's order (start, then the UID as
    text), with the first start and the last end. PostgreSQL joins them itself: one value
    comes back instead of a row per event."""
    kept = BookingFeedText
    uid = literal("feed-booking-") + cast_(Booking.id, String) + literal(f"@{UID_DOMAIN}")
    where = (
        select()
        .select_from(Booking)
        .join(kept, and_(kept.booking_id == Booking.id, kept.audience == audience))
        .where(in_feed)
    )
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        joined = func.string_agg(
            kept.body,
            aggregate_order_by(
                literal(b"", LargeBinary), Booking.start_at, uid.self_group().collate("C")
            ),
        )
        row = connection.execute(
            where.add_columns(joined, func.min(Booking.start_at), func.max(Booking.end_at))
        ).one()
        return bytes(row[0] or b""), row[1], row[2]
    rows = connection.execute(
        where.add_columns(kept.body, Booking.start_at, Booking.end_at).order_by(
            Booking.start_at, uid
        )
    ).all()
    if not rows:
        return b"", EPOCH, EPOCH
    return (
        b"".join(r.body for r in rows),
        rows[0].start_at,
        max(r.end_at for r in rows),
    )


def _uid(booking_id: int) -> str:
    return f"feed-booking-{booking_id}@{UID_DOMAIN}"


def _keep(rows: list[dict[str, Any]]) -> None:
    """Upsert rendered texts (two feeds built at once both write; the last one wins)."""
    is_postgresql = db.session.get_bind().dialect.name == "postgresql"
    if is_postgresql:
        # Kept texts are a cache: a crash that loses this commit costs a rendering, so
        # the feed does not wait for the WAL flush.
        db.session.execute(text("SET LOCAL synchronous_commit TO OFF"))
    dialect = postgresql if is_postgresql else sqlite
    for start in range(0, len(rows), 500):
        stmt = dialect.insert(BookingFeedText).values(rows[start : start + 500])
        db.session.execute(
            stmt.on_conflict_do_update(
                index_elements=["booking_id", "audience"],
                set_={
                    "fingerprint": stmt.excluded.fingerprint,
                    "sequence": stmt.excluded.sequence,
                    "stamped_at": stmt.excluded.stamped_at,
                    "body": stmt.excluded.body,
                },
            )
        )
    db.session.commit()
