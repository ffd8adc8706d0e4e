"""Compose messages (from templates, in the person's language and zone) into the outbox."""

from __future__ import annotations

from datetime import datetime

from flask import current_app, render_template

from ..models import Booking, User
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


# --- booking events ---------------------------------------------------------
# The booking service calls these inside its own transaction, so the messages
# commit (or roll back) with the change that causes them.


def _parties(booking: Booking) -> list[User]:
    from ..extensions import db
    from ..models import TherapistProfile

    people: list[User] = []
    therapist = db.session.get(TherapistProfile, booking.therapist_id)
    if therapist is not None:
        people.append(therapist.user)
    if booking.client_id is not None:
        client = db.session.get(User, booking.client_id)
        if client is not None:
            people.append(client)
    return people


def _simple(booking: Booking, *, kind: str, subject: str, line: str, now: datetime) -> None:
    from ..web.template_helpers import local_time

    for person in _parties(booking):
        when = local_time(booking.start_at, person.time_zone)
        outbox.enqueue(
            kind=kind,
            to_address=person.email,
            subject=subject,
            body_text=f"Hello {person.display_name},\n\n{line} {when}.\n\n"
            f"See your sessions: {public_url('/sessions')}\n\nIn a crisis, call or text 988.\n",
            user_id=person.id,
            booking_id=booking.id,
            due_at=now,
        )


def on_booking_confirmed(*, booking: Booking, now: datetime) -> None:
    _simple(
        booking,
        kind="booking_confirmed",
        subject="Your session is booked",
        line="Your session is booked for",
        now=now,
    )


def on_booking_rescheduled(*, old: Booking, new: Booking, now: datetime) -> None:
    _simple(
        new,
        kind="booking_rescheduled",
        subject="Your session has moved",
        line="Your session has moved to",
        now=now,
    )


def on_booking_cancelled(*, booking: Booking, now: datetime) -> None:
    _simple(
        booking,
        kind="booking_cancelled",
        subject="Your session is cancelled",
        line="This session is cancelled:",
        now=now,
    )
