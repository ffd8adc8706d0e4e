"""The one therapist a booking is checked against (`search.check_can_book`).

`candidate_query`'s row for one therapist, built once per shape (the setting, the tag
kinds the request looks at, the dialect) with every value bound: building and
compiling the statement cost about half of that check's CPU on every winning booking.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam

from teletherapy.domain.fees import FeeBand
from teletherapy.domain.matching_types import MatchRequest
from teletherapy.extensions import db
from teletherapy.models import TherapistProfile
from teletherapy.services.matching.candidates import (
    _wanted_kinds,
    candidate_select,
)
from teletherapy.services.matching.online_statement import _BOUND_WEEK, bound_values


@lru_cache(maxsize=128)
def _statement(setting: str, tag_kinds: tuple[str, ...], dialect: str) -> Any:
    # `dialect` is part of the key: the tags column is written per dialect.
    return candidate_select(
        setting,
        bindparam("state"),
        bindparam("band"),
        _BOUND_WEEK,
        tag_kinds,
        band_required=False,
    ).where(TherapistProfile.id == bindparam("therapist_id"))


def read_candidate(
    request: MatchRequest, bands: Sequence[FeeBand], now: datetime, therapist_id: int
) -> list[Any]:
    """The rows of `candidate_query(request, bands, now, band_required=False)` for this
    therapist (none when there is no such therapist)."""
    statement = _statement(
        request.setting, tuple(_wanted_kinds(request)), db.session.get_bind().dialect.name
    )
    values = {**bound_values(request, bands, now), "therapist_id": therapist_id}
    return list(db.session.connection().execute(statement, values))
