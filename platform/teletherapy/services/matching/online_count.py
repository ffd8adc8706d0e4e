"""The "allow online sessions" relaxation of an in-person search: one count of the
therapists online in the state who pass the request's other hard filters, run beside
the search's own statements on a connection of its own (PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import and_, bindparam, func, or_, select
from sqlalchemy.engine import Engine

from teletherapy.domain.fees import FeeBand
from teletherapy.domain.matching_types import MatchRequest, Relaxation
from teletherapy.extensions import db
from teletherapy.models import TherapistFee, TherapistProfile
from teletherapy.services.matching.candidates import (
    _tag_flag,
    online_in,
    week_bounds,
    week_counts,
)


def online_alternative(
    request: MatchRequest, bands: Sequence[FeeBand], now: datetime
) -> Callable[[int], Relaxation | None]:
    """ "allow online sessions" for an in-person request, from one count in SQL, started
    now and read when the caller knows `also_online`.

    Loading every therapist online in the state as a candidate would cost far more than
    the in-person search itself, so this relaxation is counted in SQL: the therapists
    who pass every hard filter of the same request made online (online in the state,
    verified, accepting, the band, required languages, age group, reduced-fee capacity),
    less those the in-person search already shows (`also_online`: the caller counts them
    from its rows, which say who is online in the state; sending their ids to be
    subtracted here cost more than the count).

    On PostgreSQL the count runs on a connection of its own while the caller reads and
    ranks the box (`count_meanwhile`): it does not depend on the box, and it is as long
    as the box's query at 100,000 therapists (~15 ms of a 2-core server's other core).
    """
    required = [w.code for w in request.languages if w.required]
    start, end = week_bounds(now)
    values = {
        "state": request.state,
        "band": request.fee_band.code,
        "age_group": request.age_group,
        "week_start": start,
        "week_end": end,
        "reduced": [b.code for b in bands if b.is_reduced],
        **{f"language_{i}": code for i, code in enumerate(required)},
    }
    statement = _online_count(len(required), bool(request.age_group), request.fee_band.is_reduced)
    total = count_meanwhile(statement, values)

    def relaxation(also_online: int) -> Relaxation | None:
        more = total() - also_online
        return Relaxation(change="allow online sessions", more=more) if more else None

    return relaxation


@lru_cache(maxsize=64)
def _online_count(languages: int, age_group: bool, capacity: bool) -> Any:
    """online_alternative's count for a request shape (how many required languages, an age
    group, a reduced band), built once: its values are bound parameters."""
    P = TherapistProfile
    conditions: list[Any] = [
        P.verified_at.is_not(None),
        P.accepting_new_clients.is_(True),
        online_in(bindparam("state")),
        *(_tag_flag("language", bindparam(f"language_{i}")) for i in range(languages)),
    ]
    if age_group:
        conditions.append(_tag_flag("age_group", bindparam("age_group")))
    if capacity:
        week: tuple[Any, Any] = (bindparam("week_start"), bindparam("week_end"))
        _, used = week_counts(*week, bindparam("reduced", expanding=True))
        conditions.append(or_(P.reduced_fee_weekly_cap.is_(None), used < P.reduced_fee_weekly_cap))
    on = and_(TherapistFee.therapist_id == P.id, TherapistFee.band_code == bindparam("band"))
    return select(func.count()).select_from(P).join(TherapistFee, on).where(*conditions)


# Counts that run beside the request's own queries (count_meanwhile), one connection each.
_MEANWHILE = ThreadPoolExecutor(max_workers=4, thread_name_prefix="matching-count")


def count_meanwhile(statement: Any, values: dict[str, Any] | None = None) -> Callable[[], int]:
    """A count read later: on PostgreSQL started now on a pooled connection of its own, so
    the server runs it while this request's connection runs the next queries. Each
    statement of a transaction at READ COMMITTED sees its own snapshot anyway, so another
    connection sees what the next statement of this one would (only this session's
    uncommitted writes, which a search makes after its reads, would differ). Elsewhere
    (SQLite) it runs when read, in the session."""
    bind = db.session.get_bind()
    if not isinstance(bind, Engine) or bind.dialect.name != "postgresql":
        return lambda: int(db.session.connection().execute(statement, values).scalar_one())
    future = _MEANWHILE.submit(_count, bind, statement, values)
    return lambda: int(future.result())


def _count(engine: Engine, statement: Any, values: dict[str, Any] | None) -> int:
    with engine.connect() as connection:
        return int(connection.execute(statement, values).scalar_one())
