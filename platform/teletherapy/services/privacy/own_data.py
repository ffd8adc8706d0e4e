"""A client's own data: download all of it (JSON, screening results as FHIR) and close the account.

Closing keeps what billing law and the other party's records need — the sessions that
took place and every payment, refund and fee, under the account's id — and removes or
blanks everything else: the name and email, the password, sign-in sessions and API
tokens, calendar feeds, matching answers, screening results and consents. The audit log
is append-only and names people by id only, so it is kept as it is.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select

from teletherapy.domain.booking import ACTIVE_STATUSES
from teletherapy.domain.errors import ConflictError, ValidationError
from teletherapy.domain.vocabularies import AccountStatus, Role
from teletherapy.extensions import db
from teletherapy.models import (
    AuditEvent,
    Booking,
    CalendarFeedToken,
    ClientProfile,
    NotificationPreference,
    Payment,
    Screening,
    ScreeningAlert,
    ScreeningCadence,
    ScreeningConsent,
    TherapistProfile,
)
from teletherapy.services.accounts.sessions import end_every_session
from teletherapy.services.accounts.users import get_user, hash_password, verify_password
from teletherapy.services.audit import record_event
from teletherapy.services.messaging.preferences import forget_preferences

logger = logging.getLogger(__name__)

EXPORT_FORMAT = "teletherapy-export-1"
CLOSED_STATUS = AccountStatus.CLOSED.value
# Shown on the account page (babel.cfg extracts this dict; translated where shown).
MESSAGES = {
    "kept": "Sessions that took place and every payment, refund and fee are kept for billing "
    "records (receipts, superbills, tax), under your account number, without your name "
    "or email.",
}
KEPT_ON_CLOSING = MESSAGES["kept"]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def export_own_data(*, user_id: int, now: datetime) -> dict[str, Any]:
    """Everything the platform holds about a client, as one JSON-able document."""
    from teletherapy.services.screening import fhir

    user = get_user(user_id)
    profile = db.session.scalar(select(ClientProfile).where(ClientProfile.user_id == user.id))
    preference = db.session.get(NotificationPreference, user.id)
    bookings = list(
        db.session.scalars(
            select(Booking).where(Booking.client_id == user.id).order_by(Booking.start_at)
        )
    )
    therapist_names = dict(
        db.session.execute(
            select(TherapistProfile.id, TherapistProfile.display_name).where(
                TherapistProfile.id.in_({b.therapist_id for b in bookings})
            )
        ).all()
    )
    payments = list(
        db.session.scalars(select(Payment).where(Payment.client_id == user.id).order_by(Payment.id))
    )
    accesses = list(
        db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.subject_user_id == user.id)
            .order_by(AuditEvent.at, AuditEvent.id)
        )
    )
    document: dict[str, Any] = {
        "format": EXPORT_FORMAT,
        "exported_at": now.isoformat(),
        "account": {
            "id": user.id,
            "email": user.email,
            "display_name": user.display_name,
            "role": user.role,
            "status": user.status,
            "time_zone": user.time_zone,
            "language": user.language,
            "state": user.state,
            "zip": user.zip,
            "created_at": _iso(user.created_at),
            "last_login_at": _iso(user.last_login_at),
        },
        "client_profile": None
        if profile is None
        else {"fee_band": profile.fee_band, "intake": profile.intake},
        "calendar_and_reminders": None
        if preference is None
        else {
            "calendar_detail": preference.calendar_detail,
            "reminders_enabled": preference.reminders_enabled,
            "reminder_offsets_minutes": list(preference.reminder_offsets_minutes),
        },
        "sessions": [
            {
                "id": b.id,
                "therapist": therapist_names.get(b.therapist_id),
                "start": _iso(b.start_at),
                "end": _iso(b.end_at),
                "setting": b.setting,
                "status": str(b.status),
            }
            for b in bookings
        ],
        "payments": [
            {
                "id": p.id,
                "session_id": p.booking_id,
                "kind": p.kind,
                "amount_cents": p.amount_cents,
                "currency": p.currency,
                "status": str(p.status),
                "method": p.method,
                "created_at": _iso(p.created_at),
            }
            for p in payments
        ],
        # Who opened or changed this person's data (ids only, as the audit log keeps them).
        "access_log": [
            {
                "at": _iso(e.at),
                "by_user_id": e.actor_user_id,
                "action": e.action,
                "resource": e.resource_type,
                "resource_id": e.resource_id,
            }
            for e in accesses
        ],
    }
    if user.role == Role.CLIENT.value:
        # The screening service checks access, records the download and commits.
        document["screening_results_fhir"] = fhir.download_own_results(client_id=user.id, now=now)
    record_event(
        actor_id=user.id,
        subject_user_id=user.id,
        action="account.export",
        resource_type="account",
        resource_id=user.id,
        now=now,
    )
    db.session.commit()
    logger.info("data export user=%s", user.id)
    return document


def close_account(*, user_id: int, password: str, now: datetime) -> None:
    """Close a client's account (one commit); upcoming sessions must be cancelled first."""
    user = get_user(user_id)
    if user.role != Role.CLIENT.value:
        raise ConflictError(
            "Therapist and administrator accounts are closed by an administrator, so that "
            "clients and records are handed over properly."
        )
    if not verify_password(user, password):
        raise ValidationError(
            "The password is not right.", errors={"password": ["The password is not right."]}
        )
    upcoming = db.session.scalar(
        select(Booking.id).where(
            Booking.client_id == user.id,
            Booking.status.in_(ACTIVE_STATUSES),
            Booking.end_at > now,
        )
    )
    if upcoming is not None:
        raise ConflictError("Cancel your upcoming sessions first; then you can close your account.")
    end_every_session(user_id=user.id, now=now, commit=False)
    db.session.execute(delete(CalendarFeedToken).where(CalendarFeedToken.user_id == user.id))
    db.session.execute(
        delete(NotificationPreference).where(NotificationPreference.user_id == user.id)
    )
    forget_preferences()
    db.session.execute(delete(ScreeningAlert).where(ScreeningAlert.client_id == user.id))
    db.session.execute(delete(Screening).where(Screening.client_id == user.id))
    db.session.execute(delete(ScreeningConsent).where(ScreeningConsent.client_id == user.id))
    db.session.execute(delete(ScreeningCadence).where(ScreeningCadence.client_id == user.id))
    profile = db.session.scalar(select(ClientProfile).where(ClientProfile.user_id == user.id))
    if profile is not None:
        profile.intake = None
    user.email = f"closed-{user.id}@closed.invalid"
    user.display_name = f"Closed account {user.id}"
    user.password_hash = hash_password(f"closed-{now.isoformat()}-{user.id}") + "!"  # unusable
    user.state = None
    user.zip = None
    user.status = CLOSED_STATUS
    record_event(
        actor_id=user.id,
        subject_user_id=user.id,
        action="account.close",
        resource_type="account",
        resource_id=user.id,
        now=now,
    )
    db.session.commit()
    logger.info("account closed user=%s", user.id)
