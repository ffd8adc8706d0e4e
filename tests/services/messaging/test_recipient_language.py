"""Messages follow the recipient: a Spanish-speaking client and an English-speaking
therapist get the same booking's email, invite and reminder each in their own language,
whoever acted (here the therapist, working in English, cancels)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import icalendar
from sqlalchemy import select

from teletherapy.models import OutboxMessage
from teletherapy.services import bookings
from teletherapy.services.calendars import feeds
from tests.booking_setup import set_availability

THU_10_NY = datetime(2026, 12, 3, 15, 0, tzinfo=UTC)


def _rows(db: Any, **where: Any) -> list[OutboxMessage]:
    query = select(OutboxMessage).order_by(OutboxMessage.id)
    for name, value in where.items():
        query = query.where(getattr(OutboxMessage, name) == value)
    return list(db.session.scalars(query))


def _event(row: OutboxMessage) -> Any:
    assert row.ics is not None
    [event] = icalendar.Calendar.from_ical(row.ics).walk("VEVENT")
    return event


def test_a_spanish_client_and_an_english_therapist_each_get_their_own_language(
    db: Any, make_user: Any, now: datetime
) -> None:
    therapist = make_user("therapist", display_name="Ana Rivera", language="en")
    client = make_user(
        "client", display_name="Luz Gómez", language="es", time_zone="America/New_York"
    )
    tid = set_availability(therapist)
    booking = bookings.book_session(
        client_id=client.id, therapist_id=tid, start=THU_10_NY, setting="online", now=now
    ).first

    [to_client] = _rows(db, kind="booking_confirmed", to_address=client.email)
    [to_therapist] = _rows(db, kind="booking_confirmed", to_address=therapist.email)
    assert to_client.subject == "Su sesión está reservada: jue, 3 dic, 10:00 EST"
    assert "Hola, Luz Gómez:" in to_client.body_text
    assert "Entre en línea:" in to_client.body_text
    assert "marque 2 para español" in (to_client.body_html or "")
    assert to_therapist.subject == "Your session is booked: Thu, Dec 3, 10:00 am EST"
    assert "Hello Ana Rivera," in to_therapist.body_text
    assert "Administre esta sesión" in str(_event(to_client)["DESCRIPTION"])
    assert "Manage this session" in str(_event(to_therapist)["DESCRIPTION"])
    assert str(_event(to_client)["SUMMARY"]) == "Cita"
    assert str(_event(to_therapist)["SUMMARY"]) == "Session with Luz Gómez"

    client_reminders = _rows(db, kind="reminder", to_address=client.email)
    therapist_reminders = _rows(db, kind="reminder", to_address=therapist.email)
    assert client_reminders and therapist_reminders
    assert all(r.subject.startswith("Recordatorio: su sesión: jue") for r in client_reminders)
    assert all("es el jue, 3 dic" in r.body_text for r in client_reminders)
    assert all(r.subject.startswith("Reminder: your session: Thu") for r in therapist_reminders)

    bookings.cancel_booking(booking_id=booking.id, actor_id=therapist.id, now=now)
    [cancel_client] = _rows(db, kind="booking_cancelled", to_address=client.email)
    [cancel_therapist] = _rows(db, kind="booking_cancelled", to_address=therapist.email)
    assert cancel_client.subject.startswith("Su sesión está cancelada: jue, 3 dic")
    assert cancel_client.ics_method == "CANCEL"
    assert "Sus sesiones:" in cancel_client.body_text
    assert cancel_therapist.subject.startswith("Your session is cancelled: Thu, Dec 3")


def test_a_calendar_feed_speaks_its_owners_language(db: Any, make_user: Any, now: datetime) -> None:
    therapist = make_user("therapist", display_name="Ana Rivera", language="en")
    client = make_user("client", display_name="Luz", language="es")
    tid = set_availability(therapist)
    bookings.book_session(
        client_id=client.id, therapist_id=tid, start=THU_10_NY, setting="online", now=now
    )
    address = feeds.get_or_create_feed(user_id=client.id, now=now)
    assert address.url is not None
    token = address.url.rsplit("/", 1)[1].removesuffix(".ics")
    body, _, _ = feeds.build_feed_for_token(token=token, now=now)
    [event] = icalendar.Calendar.from_ical(body).walk("VEVENT")
    assert str(event["SUMMARY"]) == "Cita"
    assert str(event["DESCRIPTION"]).startswith("Administre esta sesión")


def test_emails_render_the_same_with_the_catalog_bound_once_as_with_flask_babels(
    app: Any, make_user: Any
) -> None:
    """`render_email` binds the template's gettext to the language spoken once per
    rendering; every email template reads the same as through Flask-Babel's own
    callables, in each language, with values that must be escaped in HTML."""
    from flask import current_app
    from jinja2 import meta

    from teletherapy.i18n import speaking_to
    from teletherapy.services.messaging.messages import render_email

    class Value(str):
        """Any variable and any attribute of it: text that HTML must escape."""

        def __getattr__(self, name: str) -> Value:
            return Value(f"{name} <b>&</b>")

        def __call__(self, *args: Any, **kwargs: Any) -> Value:
            return Value(f"{self}()")

    env = current_app.jinja_env
    templates = env.list_templates(filter_func=lambda n: n.startswith("email/"))
    assert len(templates) >= 10
    for language in ("en", "es"):
        person = make_user("client", display_name="Luz", language=language)
        with speaking_to(person):
            for name in templates:
                source = env.loader.get_source(env, name)[0]  # type: ignore[union-attr]
                names = meta.find_undeclared_variables(env.parse(source)) - {"_", "gettext"}
                context = {variable: Value(f"{variable} <i>") for variable in names}
                expected = env.get_template(name).render(context)
                assert render_email(name, **context) == expected, (language, name)
            spoken = render_email("email/reminder.txt", **{"person": person, "lang": language})
        assert ("Hola" in spoken) == (language == "es"), spoken
