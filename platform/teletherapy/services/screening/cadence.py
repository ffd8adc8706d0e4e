"""How often a therapist asks a client to answer between sessions, and the reminder's link."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from teletherapy.domain import screening as scoring
from teletherapy.domain.errors import PermissionDenied, ValidationError
from teletherapy.extensions import db
from teletherapy.gateways import public_url
from teletherapy.models import Booking, Role, Screening, ScreeningCadence
from teletherapy.services.audit import record_event
from teletherapy.services.messaging import notifications
from teletherapy.services.screening.access import get_actor, require_client_access

CADENCES = tuple(c.value for c in scoring.Cadence)
DEFAULT_CADENCE = scoring.Cadence.OFF.value
CHECK_IN_PATH = "/screening/check-in"


def get_cadence(*, therapist_id: int, client_id: int) -> str:
    value = db.session.scalar(
        select(ScreeningCadence.cadence).where(
            ScreeningCadence.therapist_id == therapist_id, ScreeningCadence.client_id == client_id
        )
    )
    return value or DEFAULT_CADENCE


def set_cadence(
    *, therapist_user_id: int, client_id: int, cadence: str, now: datetime
) -> ScreeningCadence:
    actor = get_actor(therapist_user_id)
    if actor.role != Role.THERAPIST.value or actor.therapist_id is None:
        raise PermissionDenied("Only a client's therapist sets how often they are asked.")
    if cadence not in CADENCES:
        raise ValidationError(
            "Unknown cadence.", errors={"cadence": [f"Must be one of: {', '.join(CADENCES)}."]}
        )
    require_client_access(actor, client_id)
    row = db.session.scalar(
        select(ScreeningCadence).where(
            ScreeningCadence.therapist_id == actor.therapist_id,
            ScreeningCadence.client_id == client_id,
        )
    )
    if row is None:
        row = ScreeningCadence(therapist_id=actor.therapist_id, client_id=client_id)
        db.session.add(row)
    changed = row.cadence != cadence
    row.cadence = cadence
    row.updated_at = now
    if changed:
        notifications.rewrite_client_reminders(
            client_id=client_id, therapist_id=actor.therapist_id, now=now
        )
    record_event(
        actor_id=actor.id,
        subject_user_id=client_id,
        action="screening_cadence.set",
        resource_type="screening_cadence",
        resource_id=None,
        now=now,
    )
    db.session.commit()
    return row


def check_in_link(booking: Booking) -> str | None:
    """The questionnaire link for this session's reminder to the client, when the cadence is due.

    Called while the reminder is written (in the booking's transaction); reads only.
    """
    if booking.client_id is None or booking.group_id is not None:
        return None
    cadence = get_cadence(therapist_id=booking.therapist_id, client_id=booking.client_id)
    if cadence == scoring.Cadence.OFF:
        return None
    last = db.session.scalar(
        select(func.max(Screening.completed_at)).where(Screening.client_id == booking.client_id)
    )
    since = 0
    if last is not None:
        since = int(
            db.session.scalar(
                select(func.count(Booking.id)).where(
                    Booking.client_id == booking.client_id,
                    Booking.therapist_id == booking.therapist_id,
                    Booking.status.in_(("confirmed", "completed")),
                    Booking.start_at > last,
                    Booking.start_at < booking.start_at,
                )
            )
            or 0
        )
    due = scoring.is_due(
        cadence, last_completed_at=last, sessions_since_last=since, session_start=booking.start_at
    )
    return public_url(CHECK_IN_PATH) if due else None
