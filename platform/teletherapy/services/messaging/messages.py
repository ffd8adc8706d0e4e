"""Plain messages to one person (no invite): rendered from templates/email/<kind>.txt in
the person's language (English or Spanish), queued in the caller's transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import render_template

from teletherapy.models import User
from teletherapy.services.messaging import outbox

LANGUAGES = ("en", "es")

SUBJECTS: dict[str, dict[str, str]] = {
    "waitlist_seat": {
        "en": "A seat in your group is yours",
        "es": "Tiene un lugar en su grupo",
    },
    "group_cancelled": {
        "en": "A group you joined is cancelled",
        "es": "Un grupo al que se unió está cancelado",
    },
    "payment_action_required": {
        "en": "Please complete the payment for your session",
        "es": "Complete el pago de su sesión",
    },
}


def language_of(person: User) -> str:
    return person.language if person.language in LANGUAGES else "en"


def first_name(person: User) -> str:
    return (person.display_name.split() or ["there"])[0]


def send_message(
    *,
    kind: str,
    person: User,
    context: dict[str, Any],
    now: datetime,
    dedupe_key: str,
    booking_id: int | None = None,
) -> None:
    """Queue `email/<kind>.txt` for `person`. The templates carry no clinical detail
    (no group titles or descriptions, no reasons)."""
    lang = language_of(person)
    outbox.enqueue(
        kind=kind,
        to_address=person.email,
        subject=SUBJECTS[kind][lang],
        body_text=render_template(
            f"email/{kind}.txt", lang=lang, first_name=first_name(person), **context
        ),
        user_id=person.id,
        booking_id=booking_id,
        due_at=now,
        dedupe_key=dedupe_key,
    )
