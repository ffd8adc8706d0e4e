"""Self-harm alerts: on the therapist's or the admins' dashboard until acknowledged."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.sql import ColumnElement

from teletherapy.domain.errors import NotFoundError, PermissionDenied
from teletherapy.extensions import db
from teletherapy.models import Role, ScreeningAlert, User
from teletherapy.services.audit import record_event
from teletherapy.services.screening.access import get_actor


@dataclass(frozen=True)
class AlertView:
    id: int
    client_id: int
    client_name: str
    created_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by_name: str | None
    can_open_results: bool


def _scope(actor: User) -> ColumnElement[bool]:
    if actor.role == Role.ADMIN.value:
        return ScreeningAlert.therapist_id.is_(None)
    if actor.role == Role.THERAPIST.value and actor.therapist_id is not None:
        return ScreeningAlert.therapist_id == actor.therapist_id
    raise PermissionDenied("Only therapists and admins receive alerts.")


def list_alerts(*, actor_id: int, recent_acknowledged: int = 10) -> list[AlertView]:
    """Open alerts first (oldest first), then the last few acknowledged ones with who and when."""
    actor = get_actor(actor_id)
    scope = _scope(actor)
    open_rows = list(
        db.session.scalars(
            select(ScreeningAlert)
            .where(scope, ScreeningAlert.acknowledged_at.is_(None))
            .order_by(ScreeningAlert.created_at, ScreeningAlert.id)
        )
    )
    done_rows = list(
        db.session.scalars(
            select(ScreeningAlert)
            .where(scope, ScreeningAlert.acknowledged_at.is_not(None))
            .order_by(ScreeningAlert.acknowledged_at.desc())
            .limit(recent_acknowledged)
        )
    )
    rows = open_rows + done_rows
    ids = {r.client_id for r in rows} | {r.acknowledged_by for r in rows if r.acknowledged_by}
    names = (
        dict(db.session.execute(select(User.id, User.display_name).where(User.id.in_(ids))).all())
        if ids
        else {}
    )
    return [
        AlertView(
            id=r.id,
            client_id=r.client_id,
            client_name=str(names.get(r.client_id, "")),
            created_at=r.created_at,
            acknowledged_at=r.acknowledged_at,
            acknowledged_by_name=(
                str(names.get(r.acknowledged_by, "")) if r.acknowledged_by else None
            ),
            can_open_results=r.therapist_id is not None,
        )
        for r in rows
    ]


def count_open_alerts(*, actor_id: int) -> int:
    actor = get_actor(actor_id)
    if actor.role not in (Role.ADMIN.value, Role.THERAPIST.value):
        return 0
    return len(
        list(
            db.session.scalars(
                select(ScreeningAlert.id).where(
                    _scope(actor), ScreeningAlert.acknowledged_at.is_(None)
                )
            )
        )
    )


def acknowledge_alert(*, actor_id: int, alert_id: int, now: datetime) -> ScreeningAlert:
    """Record who acknowledged the alert and when; the first acknowledgement stands."""
    actor = get_actor(actor_id)
    alert = db.session.scalar(
        select(ScreeningAlert).where(ScreeningAlert.id == alert_id, _scope(actor))
    )
    if alert is None:
        raise NotFoundError("No such alert.")
    if alert.acknowledged_at is None:
        alert.acknowledged_at = now
        alert.acknowledged_by = actor.id
        record_event(
            actor_id=actor.id,
            subject_user_id=alert.client_id,
            action="screening_alert.acknowledge",
            resource_type="screening_alert",
            resource_id=alert.id,
            now=now,
        )
    db.session.commit()
    return alert
