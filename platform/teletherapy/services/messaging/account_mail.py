"""Emails about a person's account itself (welcome, an address already taken, password
reset), written in the person's language into the outbox of the caller's transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l

from teletherapy.domain.vocabularies import AccountStatus
from teletherapy.gateways import public_url
from teletherapy.i18n import speaking_to
from teletherapy.models import User
from teletherapy.services.messaging import outbox
from teletherapy.services.messaging.messages import render_email


def enqueue_password_reset(*, user: User, token: str, now: datetime) -> None:
    minutes = int(current_app.config["PASSWORD_RESET_MAX_AGE_SECONDS"]) // 60
    context = {"user": user, "link": public_url(f"/reset-password/{token}"), "minutes": minutes}
    _account_email(user, "password_reset", _l("Reset your Teletherapy password"), context, now)


def enqueue_welcome(*, user: User, now: datetime) -> None:
    """A new account: the same page answers a new and a known address, the email differs."""
    context = {
        "user": user,
        "sign_in": public_url("/sign-in"),
        "pending": user.status == AccountStatus.PENDING,
    }
    _account_email(user, "welcome", _l("Your Teletherapy account"), context, now)


def enqueue_existing_account_notice(*, user: User, now: datetime) -> None:
    """Someone signed up with an address that has an account: tell its owner, nobody else."""
    context = {
        "user": user,
        "sign_in": public_url("/sign-in"),
        "reset": public_url("/reset-password"),
    }
    _account_email(user, "account_exists", _l("Your Teletherapy account"), context, now)


def _account_email(
    user: User, kind: str, subject: Any, context: dict[str, Any], now: datetime
) -> None:
    """An email about the account itself (templates email/<kind>.txt and .html), written in
    the person's language; a reset link is sensitive (never logged, kept briefly)."""
    with speaking_to(user):
        text = str(subject)
        body_text = render_email(f"email/{kind}.txt", **context)
        body_html = render_email(f"email/{kind}.html", **context)
    outbox.enqueue(
        kind=kind,
        to_address=user.email,
        subject=text,
        body_text=body_text,
        body_html=body_html,
        user_id=user.id,
        due_at=now,
        is_sensitive=kind == "password_reset",
    )
