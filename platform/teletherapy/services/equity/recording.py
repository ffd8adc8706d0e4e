"""Recording for equity, called inside other use cases' transactions (they commit).

- Every search becomes one anonymous `EquitySearch` row (hour, band, setting, state,
  languages, result count, the filter that removed most).
- A client's first search is kept in `EquityFirstSearch` (keyed by the client) only until
  their first booking, which turns it into an anonymous `EquityCareStart` row holding the
  elapsed hours; a first search with no booking after `PENDING_DAYS` is condensed the same
  way with no hours (by a job every 15 minutes, not by each search), so no row links a
  person to a search for longer than that.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import exists, insert, select

from teletherapy.domain.booking import BookingStatus
from teletherapy.domain.matching_types import MatchRequest
from teletherapy.extensions import db
from teletherapy.models import Booking, EquityCareStart, EquityFirstSearch, EquitySearch

PENDING_DAYS = 30
# Every search writes a row that is never read back in its session: a plain INSERT built
# once, not an ORM object flushed by the unit of work (a twentieth of a search's CPU).
_ADD_SEARCH = insert(EquitySearch)
# No therapist verified, accepting, in the band and in place for the setting at all.
NONE_IN_PLACE = "no_therapist_in_place"


def hour_of(instant: datetime) -> datetime:
    return instant.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def primary_language(request: MatchRequest) -> str:
    """The first required language, else the first preferred one, else "" (none asked)."""
    required = [w.code for w in request.languages if w.required]
    preferred = [w.code for w in request.languages if not w.required]
    return (required or preferred or [""])[0]


def record_search(
    *,
    request: MatchRequest,
    result_count: int,
    most_removed_by: str | None,
    client_id: int | None,
    now: datetime,
) -> None:
    """Add the search's anonymous row (and the client's first search); no commit."""
    values = {
        "searched_at": hour_of(now),
        "fee_band": request.fee_band.code,
        "setting": request.setting,
        "state": request.state,
        "required_languages": ",".join(sorted({w.code for w in request.languages if w.required})),
        "preferred_languages": ",".join(
            sorted({w.code for w in request.languages if not w.required})
        ),
        "result_count": result_count,
        "most_removed_by": (most_removed_by or NONE_IN_PLACE) if result_count == 0 else None,
    }
    db.session.execute(_ADD_SEARCH, values)  # the session sees the write: primary from now
    if client_id is not None and _is_first_search(client_id):
        db.session.add(
            EquityFirstSearch(
                user_id=client_id,
                searched_at=hour_of(now),
                fee_band=request.fee_band.code,
                setting=request.setting,
                state=request.state,
                language=primary_language(request),
            )
        )


def _is_first_search(client_id: int) -> bool:
    """No pending first search and no booking ever (an expired hold is not a booking)."""
    pending = db.session.get(EquityFirstSearch, client_id)
    if pending is not None:
        return False
    booked = db.session.scalar(
        select(
            exists().where(
                Booking.client_id == client_id,
                Booking.status != BookingStatus.EXPIRED,
            )
        )
    )
    return not booked


def record_first_booking(*, client_id: int, first_start: datetime, now: datetime) -> None:
    """At a client's booking: their pending first search becomes elapsed hours; no commit."""
    pending = db.session.get(EquityFirstSearch, client_id)
    if pending is None:
        return
    db.session.add(
        _care_start(
            pending,
            hours_to_booking=_hours(now - pending.searched_at),
            hours_to_first_session=_hours(first_start - pending.searched_at),
        )
    )
    db.session.delete(pending)


def condense_stale_first_searches(*, now: datetime) -> int:
    """First searches older than PENDING_DAYS with no booking lose their owner; no commit.

    Run by the `condense_equity` job (jobs/tasks.py), which commits."""
    cutoff = now - timedelta(days=PENDING_DAYS)
    stale = list(
        db.session.scalars(select(EquityFirstSearch).where(EquityFirstSearch.searched_at < cutoff))
    )
    for pending in stale:
        db.session.add(_care_start(pending, hours_to_booking=None, hours_to_first_session=None))
        db.session.delete(pending)
    return len(stale)


def _hours(elapsed: timedelta) -> int:
    return max(0, int(elapsed.total_seconds() // 3600))


def _care_start(
    pending: EquityFirstSearch, *, hours_to_booking: int | None, hours_to_first_session: int | None
) -> EquityCareStart:
    return EquityCareStart(
        searched_on=pending.searched_at.date(),
        fee_band=pending.fee_band,
        setting=pending.setting,
        state=pending.state,
        language=pending.language,
        hours_to_booking=hours_to_booking,
        hours_to_first_session=hours_to_first_session,
    )
