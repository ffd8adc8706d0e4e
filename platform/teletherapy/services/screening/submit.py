"""Consent and submission: score through the domain, record, and route a self-harm answer."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import gettext
from sqlalchemy import select

from teletherapy.domain import screening as scoring
from teletherapy.domain.errors import PermissionDenied
from teletherapy.extensions import db
from teletherapy.gateways import public_url
from teletherapy.i18n import speaking_to
from teletherapy.models import (
    AccountStatus,
    Role,
    Screening,
    ScreeningAlert,
    ScreeningConsent,
    User,
)
from teletherapy.services.audit import record_event
from teletherapy.services.messaging import outbox
from teletherapy.services.messaging.messages import render_email
from teletherapy.services.screening.access import get_actor, therapist_users, treating_therapist_ids

logger = logging.getLogger(__name__)

CONSENT_TEXT_VERSION = "2026-12"
# A client who submits without the intake step consents by submitting.
SUBMITTED_CONSENT_VERSION = "by-submission"
ALERT_KIND = "screening_alert"


@dataclass(frozen=True)
class Submitted:
    screening: Screening
    flags: tuple[str, ...]
    alerts: int


def _language(value: str | None, fallback: str) -> str:
    for candidate in (value, fallback):
        if candidate in scoring.LANGUAGES:
            return str(candidate)
    return "en"


def _require_client(actor: User) -> None:
    if actor.role != Role.CLIENT.value:
        raise PermissionDenied("Only clients answer questionnaires.")


def latest_consent(client_id: int) -> ScreeningConsent | None:
    return db.session.scalar(
        select(ScreeningConsent)
        .where(ScreeningConsent.client_id == client_id)
        .order_by(ScreeningConsent.recorded_at.desc(), ScreeningConsent.id.desc())
        .limit(1)
    )


def has_consented(*, client_id: int) -> bool:
    consent = latest_consent(client_id)
    return consent is not None and consent.is_given


def record_consent(
    *, client_id: int, is_given: bool, language: str | None = None, now: datetime
) -> ScreeningConsent:
    """The client's yes or no on the intake step (appended; the latest one counts)."""
    client = get_actor(client_id)
    _require_client(client)
    consent = ScreeningConsent(
        client_id=client.id,
        is_given=is_given,
        text_version=CONSENT_TEXT_VERSION,
        language=_language(language, client.language),
        recorded_at=now,
    )
    db.session.add(consent)
    db.session.flush()
    record_event(
        actor_id=client.id,
        subject_user_id=client.id,
        action="screening_consent.give" if is_given else "screening_consent.decline",
        resource_type="screening_consent",
        resource_id=consent.id,
        now=now,
    )
    db.session.commit()
    return consent


def submit_screening(
    *,
    client_id: int,
    instrument: str,
    answers: list[Any],
    difficulty: Any = None,
    language: str | None = None,
    is_intake: bool = False,
    now: datetime,
) -> Submitted:
    """Score and record one questionnaire; on a self-harm answer, alert who treats the client."""
    client = get_actor(client_id)
    _require_client(client)
    spec = scoring.get_instrument(instrument)
    result = scoring.score(spec, answers)
    difficulty_value = scoring.validate_difficulty(spec, difficulty)
    consent = latest_consent(client.id)
    if consent is None or not consent.is_given:
        consent = ScreeningConsent(
            client_id=client.id,
            is_given=True,
            text_version=SUBMITTED_CONSENT_VERSION,
            language=_language(language, client.language),
            recorded_at=now,
        )
        db.session.add(consent)
        db.session.flush()
    row = Screening(
        client_id=client.id,
        instrument=spec.code,
        answers=[int(a) for a in answers],
        total=result.total,
        severity=result.severity,
        difficulty=difficulty_value,
        language=_language(language, client.language),
        is_intake=is_intake,
        consent_id=consent.id,
        completed_at=now,
    )
    db.session.add(row)
    db.session.flush()
    record_event(
        actor_id=client.id,
        subject_user_id=client.id,
        action="screening.submit",
        resource_type="screening",
        resource_id=row.id,
        now=now,
    )
    alerts = 0
    if scoring.SELF_HARM_FLAG in result.flags:
        alerts = _raise_alerts(row, client, now=now)
    db.session.commit()
    logger.info("screening=%s recorded client=%s alerts=%s", row.id, client.id, alerts)
    return Submitted(screening=row, flags=result.flags, alerts=alerts)


def _raise_alerts(row: Screening, client: User, *, now: datetime) -> int:
    """One alert per treating therapist, or one for the admins when there is none yet."""
    therapist_ids = treating_therapist_ids(client.id)
    if therapist_ids:
        for therapist_id in therapist_ids:
            alert = ScreeningAlert(
                screening_id=row.id, client_id=client.id, therapist_id=therapist_id, created_at=now
            )
            db.session.add(alert)
            db.session.flush()
            for person in therapist_users([therapist_id]):
                _enqueue_alert(
                    person, link=public_url(f"/screening/clients/{client.id}"), alert=alert, now=now
                )
        return len(therapist_ids)
    alert = ScreeningAlert(
        screening_id=row.id, client_id=client.id, therapist_id=None, created_at=now
    )
    db.session.add(alert)
    db.session.flush()
    admins = db.session.scalars(
        select(User)
        .where(User.role == Role.ADMIN.value, User.status == AccountStatus.ACTIVE.value)
        .order_by(User.id)
    )
    for admin in admins:
        _enqueue_alert(admin, link=public_url("/screening/alerts"), alert=alert, now=now)
    return 1


def _enqueue_alert(person: User, *, link: str, alert: ScreeningAlert, now: datetime) -> None:
    """Nothing clinical: who and what stay behind the sign-in at the link."""
    context = {"person": person, "link": link}
    with speaking_to(person):  # the recipient's language, from the catalog
        subject = gettext("A questionnaire needs your attention")
        body_text = render_email("email/screening_alert.txt", **context)
        body_html = render_email("email/screening_alert.html", **context)
    outbox.enqueue(
        kind=ALERT_KIND,
        to_address=person.email,
        subject=subject,
        body_text=body_text,
        body_html=body_html,
        user_id=person.id,
        due_at=now,
        dedupe_key=f"screening-alert-{alert.id}-{person.id}",
    )
