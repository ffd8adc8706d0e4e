"""Compose messages (from templates, in the person's language and zone) into the outbox."""

from __future__ import annotations

from datetime import datetime

from flask import current_app, render_template

from ..models import User
from . import outbox


def public_url(path: str) -> str:
    base = str(current_app.config["PUBLIC_URL"]).rstrip("/")
    return base + path


def enqueue_password_reset(*, user: User, token: str, now: datetime) -> None:
    link = public_url(f"/reset-password/{token}")
    minutes = int(current_app.config["PASSWORD_RESET_MAX_AGE_SECONDS"]) // 60
    context = {"user": user, "link": link, "minutes": minutes}
    outbox.enqueue(
        kind="password_reset",
        to_address=user.email,
        subject="Reset your Teletherapy password",
        body_text=render_template("email/password_reset.txt", **context),
        body_html=render_template("email/password_reset.html", **context),
        user_id=user.id,
        due_at=now,
        is_sensitive=True,
    )
