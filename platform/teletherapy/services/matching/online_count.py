"""The "allow online sessions" relaxation of an in-person search: one count of the
therapists online in the state who pass the request's other hard filters, run beside
the search's own statements on a connection of its own (PostgreSQL)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from functools import lru_cache
from typing import Any

from flask import current_app
from sqlalchemy import String, and_, bindparam, func, or_, select
from sqlalchemy.engine import Engine

from teletherapy.domain.fees import FeeBand
from teletherapy.domain.matching_types import MatchRequest, Relaxation
from teletherapy.extensions import db
from teletherapy.models import OnlineListing, TherapistFee, TherapistProfile
from teletherapy.services.matching.candidates import (
    _tag_flag,
    online_in,
    week_bounds,
    week_counts,
)
from teletherapy.services.matching.online_statement import has_tag


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
    ranks the box (`count_meanwhile`): it does not depend on the box. At 100,000
    therapists it is longer than the box's query (30-55 ms for the thousands online in
    NY or TX), so its answer is kept for a minute (_KeptCounts) for the next in-person
    search of the same state, band, languages and age group.
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
    shape = (len(required), bool(request.age_group), request.fee_band.is_reduced)
    kept = _kept_counts()
    total = kept.get(shape, values) or kept.count(shape, values)

    def relaxation(also_online: int) -> Relaxation | None:
        more = total() - also_online
        return Relaxation(change="allow online sessions", more=more) if more else None

    return relaxation


@lru_cache(maxsize=64)
def _online_count(languages: int, age_group: bool, capacity: bool, dialect: str) -> Any:
    """online_alternative's count for a request shape (how many required languages, an age
    group, a reduced band), built once: its values are bound parameters. On PostgreSQL
    it counts the online listings of the state and band (0019_online_listings)."""
    if dialect == "postgresql":
        return _listed_count(languages, age_group, capacity)
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


def _listed_count(languages: int, age_group: bool, capacity: bool) -> Any:
    L = OnlineListing
    conditions: list[Any] = [
        L.state == bindparam("state"),
        L.band_code == bindparam("band"),
        *(
            has_tag("language", bindparam(f"language_{i}", type_=String()), L.tag_codes)
            for i in range(languages)
        ),
    ]
    if age_group:
        conditions.append(has_tag("age_group", bindparam("age_group", type_=String()), L.tag_codes))
    if capacity:
        week: tuple[Any, Any] = (bindparam("week_start"), bindparam("week_end"))
        _, used = week_counts(*week, bindparam("reduced", expanding=True), L.therapist_id)
        conditions.append(or_(L.reduced_fee_weekly_cap.is_(None), used < L.reduced_fee_weekly_cap))
    return select(func.count()).select_from(L).where(*conditions)


class _KeptCounts:
    """An app's recent counts by statement shape and values, each kept for
    MATCHING_ONLINE_COUNT_MAX_AGE_SECONDS: every in-person search of a state, band,
    language and age group asks the same question (the place does not enter it), and it
    is a hint of how many more an online search would show, not a slot to book. At
    100,000 therapists counting the thousands online in a large state took longer than
    the in-person search itself (docs/capacity.md)."""

    def __init__(self, max_age: float) -> None:
        self.max_age = max_age
        self._lock = threading.Lock()
        self._counts: dict[tuple[Any, ...], tuple[float, int]] = {}

    @staticmethod
    def key(shape: tuple[Any, ...], values: dict[str, Any]) -> tuple[Any, ...]:
        return (shape, *((k, _hashable(values[k])) for k in sorted(values)))

    def get(self, shape: tuple[Any, ...], values: dict[str, Any]) -> Callable[[], int] | None:
        with self._lock:
            kept = self._counts.get(self.key(shape, values))
        if kept is None or kept[0] <= time.monotonic():
            return None
        return lambda: kept[1]

    def count(self, shape: tuple[Any, ...], values: dict[str, Any]) -> Callable[[], int]:
        """count_meanwhile of the shape's statement, its answer kept once read."""
        dialect = db.session.get_bind().dialect.name
        total = count_meanwhile(_online_count(*shape, dialect), values)

        def read() -> int:
            count = total()
            self._put(self.key(shape, values), count)
            return count

        return read

    def _put(self, key: tuple[Any, ...], count: int) -> None:
        if self.max_age <= 0:
            return
        with self._lock:
            if len(self._counts) >= _MOST_KEPT:  # at most a minute's distinct questions
                now = time.monotonic()
                self._counts = {k: v for k, v in self._counts.items() if v[0] > now}
                if len(self._counts) >= _MOST_KEPT:
                    self._counts.clear()
            self._counts[key] = (time.monotonic() + self.max_age, count)


_MOST_KEPT = 4096


def _hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def _kept_counts() -> _KeptCounts:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    kept = app.extensions.get("matching_online_counts")
    if kept is None:
        kept = app.extensions.setdefault(
            "matching_online_counts",
            _KeptCounts(float(app.config["MATCHING_ONLINE_COUNT_MAX_AGE_SECONDS"])),
        )
    return kept  # type: ignore[no-any-return]


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
