"""Reading results: lists, one result, trends per client and the therapist's caseload.

Every function that shows results writes who looked at whose results to the audit
log and commits it, so a view is never unrecorded.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from teletherapy.domain import screening as scoring
from teletherapy.domain.errors import NotFoundError, PermissionDenied
from teletherapy.extensions import db
from teletherapy.models import Booking, Role, Screening, User
from teletherapy.services.audit import record_event
from teletherapy.services.screening.access import (
    TREATING_STATUSES,
    client_ids_of,
    get_actor,
    require_client_access,
)


@dataclass(frozen=True)
class Point:
    screening_id: int
    completed_at: datetime
    total: int
    severity: str
    has_self_harm_flag: bool
    change: scoring.Change | None  # against the first result (None for the first)


@dataclass(frozen=True)
class Series:
    instrument: scoring.Instrument
    points: list[Point]
    is_not_improving: bool

    @property
    def latest(self) -> Point | None:
        return self.points[-1] if self.points else None

    @property
    def change(self) -> scoring.Change | None:
        return self.points[-1].change if self.points else None


@dataclass(frozen=True)
class Trend:
    client: User
    series: list[Series]
    sessions: list[datetime] = field(default_factory=list)


@dataclass(frozen=True)
class CaseloadRow:
    client: User
    series: list[Series]

    @property
    def is_not_improving(self) -> bool:
        return any(s.is_not_improving for s in self.series)

    @property
    def last_completed_at(self) -> datetime | None:
        dates = [s.latest.completed_at for s in self.series if s.latest is not None]
        return max(dates) if dates else None


def audit_view(
    actor: User, client_id: int, action: str, resource_id: int | None, now: datetime
) -> None:
    record_event(
        actor_id=actor.id,
        subject_user_id=client_id,
        action=action,
        resource_type="screening",
        resource_id=resource_id,
        now=now,
    )


def rows_of(client_id: int) -> list[Screening]:
    return list(
        db.session.scalars(
            select(Screening)
            .where(Screening.client_id == client_id)
            .order_by(Screening.completed_at, Screening.id)
        )
    )


def flags_of(row: Screening) -> tuple[str, ...]:
    spec = scoring.get_instrument(row.instrument)
    return scoring.flags(spec, row.answers) if len(row.answers) == len(spec.items) else ()


def list_screenings(*, actor_id: int, client_id: int, now: datetime) -> list[Screening]:
    """The client's results, oldest first; 404 for anyone who may not see them."""
    actor = get_actor(actor_id)
    require_client_access(actor, client_id)
    rows = rows_of(client_id)
    audit_view(actor, client_id, "screening.list", None, now)
    db.session.commit()
    return rows


def get_screening(
    *, actor_id: int, screening_id: int, now: datetime, action: str = "screening.view"
) -> Screening:
    actor = get_actor(actor_id)
    row = db.session.get(Screening, screening_id)
    if row is None:
        raise NotFoundError("No such result.")
    require_client_access(actor, row.client_id)
    audit_view(actor, row.client_id, action, row.id, now)
    db.session.commit()
    return row


def _series(rows: list[Screening], *, now: datetime) -> list[Series]:
    by_instrument: dict[str, list[Screening]] = defaultdict(list)
    for row in rows:
        by_instrument[row.instrument].append(row)
    result = []
    for code in scoring.INSTRUMENT_CODES:
        spec = scoring.get_instrument(code)
        items = by_instrument.get(code, [])
        points = []
        for index, row in enumerate(items):
            change = (
                scoring.classify_change(spec, baseline=items[0].total, latest=row.total)
                if index
                else None
            )
            flags = flags_of(row)
            points.append(
                Point(
                    screening_id=row.id,
                    completed_at=row.completed_at,
                    total=row.total,
                    severity=row.severity,
                    has_self_harm_flag=scoring.SELF_HARM_FLAG in flags,
                    change=change,
                )
            )
        history = [(p.completed_at, p.total) for p in points]
        result.append(
            Series(
                instrument=spec,
                points=points,
                is_not_improving=scoring.is_not_improving(spec, history, now=now),
            )
        )
    return result


def client_trend(*, actor_id: int, client_id: int, now: datetime) -> Trend:
    """Each instrument over time with change flags, and the sessions to mark on the chart."""
    actor = get_actor(actor_id)
    client = require_client_access(actor, client_id)
    query = select(Booking.start_at).where(
        Booking.client_id == client.id,
        Booking.status.in_(TREATING_STATUSES),
        Booking.start_at <= now,
    )
    if actor.id != client.id and actor.therapist_id is not None:
        query = query.where(Booking.therapist_id == actor.therapist_id)
    sessions = list(db.session.scalars(query.order_by(Booking.start_at)))
    trend = Trend(client=client, series=_series(rows_of(client.id), now=now), sessions=sessions)
    audit_view(actor, client.id, "screening.view_trend", None, now)
    db.session.commit()
    return trend


def caseload(
    *, therapist_user_id: int, now: datetime, sort: str = "not_improving"
) -> list[CaseloadRow]:
    """Every client the therapist treats with their latest scores and change since intake.

    `sort`: "not_improving" (those first, then by name) or "name".
    """
    actor = get_actor(therapist_user_id)
    if actor.role != Role.THERAPIST.value or actor.therapist_id is None:
        raise PermissionDenied("Only therapists have a caseload.")
    client_ids = client_ids_of(actor.therapist_id)
    clients = (
        list(db.session.scalars(select(User).where(User.id.in_(client_ids)))) if client_ids else []
    )
    rows: dict[int, list[Screening]] = defaultdict(list)
    if client_ids:
        for screening in db.session.scalars(
            select(Screening)
            .where(Screening.client_id.in_(client_ids))
            .order_by(Screening.completed_at, Screening.id)
        ):
            rows[screening.client_id].append(screening)
    result = [CaseloadRow(client=c, series=_series(rows[c.id], now=now)) for c in clients]
    for row in result:
        if rows[row.client.id]:
            audit_view(actor, row.client.id, "screening.view_caseload", None, now)
    db.session.commit()
    if sort == "name":
        result.sort(key=lambda r: (r.client.display_name.lower(), r.client.id))
    else:
        result.sort(key=lambda r: (not r.is_not_improving, r.client.display_name.lower()))
    return result
