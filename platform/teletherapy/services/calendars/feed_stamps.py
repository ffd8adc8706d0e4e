"""Feed change stamps: any commit that changes what a feed is made of stamps its owners'
tokens (`changed_at`), so a conditional request reads one row (services/calendars/feeds.py).

A flush touching a booking marks its client and its therapist, one touching a person or
their preferences marks them, and a new name (a person's or a therapist profile's) marks
everyone with a session with them, whose feeds show it; just before the commit one
UPDATE stamps the marked owners' active tokens. The only bulk UPDATE of bookings expires
lapsed holds, and held sessions are not in feeds.
"""

from __future__ import annotations

from typing import Any

from flask import has_app_context
from sqlalchemy import bindparam, event, inspect, or_, select, update
from sqlalchemy.orm import InstanceState, Session, UOWTransaction

from teletherapy.extensions import db
from teletherapy.models import (
    Booking,
    CalendarFeedToken,
    NotificationPreference,
    TherapistProfile,
    User,
)

_FEED_MARK = "teletherapy.feeds_changed"


_Marks = tuple[set[int], set[int], set[int], set[int]]


def _marks(session: Session) -> _Marks:
    """(users, therapists, renamed users, renamed therapists) marked in this transaction."""
    found: _Marks = session.info.setdefault(_FEED_MARK, (set(), set(), set(), set()))
    return found


def _renamed(session: Session, obj: User | TherapistProfile) -> bool:
    """A name set on a row that existed before (an expired old value counts as changed)."""
    state: InstanceState[Any] = inspect(obj)
    return obj not in session.new and state.attrs.display_name.history.has_changes()


def _collect_feed_changes(session: Session, flush_context: UOWTransaction) -> None:
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, Booking):
            users, therapists, _, _ = _marks(session)
            if obj.client_id is not None:
                users.add(int(obj.client_id))
            if obj.therapist_id is not None:
                therapists.add(int(obj.therapist_id))
        elif isinstance(obj, NotificationPreference) and obj.user_id is not None:
            _marks(session)[0].add(int(obj.user_id))
        elif isinstance(obj, User) and obj.id is not None:
            _marks(session)[0].add(int(obj.id))
            if _renamed(session, obj):  # the therapists' feeds name their clients
                _marks(session)[2].add(int(obj.id))
        elif isinstance(obj, TherapistProfile) and obj.id is not None and _renamed(session, obj):
            _marks(session)[3].add(int(obj.id))  # the clients' feeds name their therapist


def _stamp_feeds(session: Session) -> None:
    from teletherapy.clock import utcnow

    if session.new or session.dirty or session.deleted:
        session.flush()  # the commit flushes after this hook: mark the last changes first
    if not session.info.get(_FEED_MARK):
        return
    if not (has_app_context() and session is db.session()):
        session.info.pop(_FEED_MARK, None)  # scripts' raw sessions are not kept current
        return
    users, therapists, renamed_users, renamed_therapists = session.info.pop(_FEED_MARK)
    marked = {
        "users": sorted(users),
        "therapists": sorted(therapists),
        "renamed_users": sorted(renamed_users),
        "renamed_therapists": sorted(renamed_therapists),
        "at": utcnow(),
    }
    with session.no_autoflush:
        session.execute(_STAMP, marked, execution_options={"synchronize_session": False})
    session.info.pop(_FEED_MARK, None)


# The active tokens of the marked people and therapists, of the therapists of a renamed
# client and of the clients of a renamed therapist, stamped. Built once: every commit
# that touches a booking runs it (an empty list matches nothing).
_T, _P = CalendarFeedToken, TherapistProfile
_STAMP = (
    update(_T)
    .where(
        or_(
            _T.user_id.in_(bindparam("users", expanding=True)),
            _T.user_id.in_(
                select(_P.user_id).where(_P.id.in_(bindparam("therapists", expanding=True)))
            ),
            _T.user_id.in_(
                select(_P.user_id)
                .join(Booking, Booking.therapist_id == _P.id)
                .where(Booking.client_id.in_(bindparam("renamed_users", expanding=True)))
            ),
            _T.user_id.in_(
                select(Booking.client_id).where(
                    Booking.therapist_id.in_(bindparam("renamed_therapists", expanding=True))
                )
            ),
        ),
        _T.revoked_at.is_(None),
    )
    .values(changed_at=bindparam("at"))
)


def _forget_feed_marks(session: Session, previous_transaction: Any) -> None:
    session.info.pop(_FEED_MARK, None)


def install() -> None:
    """Listen on every ORM session (once): flushes mark, commits stamp."""
    if not event.contains(Session, "after_flush", _collect_feed_changes):
        event.listen(Session, "after_flush", _collect_feed_changes)
        event.listen(Session, "before_commit", _stamp_feeds)
        event.listen(Session, "after_soft_rollback", _forget_feed_marks)
