"""Plain messages to one person (no invite): rendered from templates/email/<kind>.txt in
the recipient's language, queued in the caller's transaction."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from gettext import NullTranslations
from typing import Any

from flask import current_app
from flask_babel import get_translations
from flask_babel import lazy_gettext as _l
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup

from teletherapy.i18n import language_for, speaking_to
from teletherapy.models import User
from teletherapy.services.messaging import outbox

SUBJECTS = {
    "waitlist_seat": _l("A seat in your group is yours"),
    "group_cancelled": _l("A group you joined is cancelled"),
    "payment_action_required": _l("Please complete the payment for your session"),
}


def render_email(name: str, **context: Any) -> str:
    """An email template rendered with only what it is given. Flask's render_template also
    runs the pages' context processors (the signed-in person, vocabularies, the language
    menu), which no email uses and which were a quarter of each rendering.

    The template's `gettext` (and `_`, `{% trans %}`) is bound to the language being
    spoken once per rendering: Flask-Babel's looks the catalog up again for each string,
    ~50 in a booking's notices and reminders (1.9M of a winning booking's 57M
    instructions)."""
    return current_app.jinja_env.get_template(name).render(
        {**_bound_callables(get_translations()), **context}
    )


@lru_cache(maxsize=32)
def _bound_callables(translations: NullTranslations) -> dict[str, Any]:
    """`gettext` as jinja2's i18n extension installs it (`newstyle=True`), for one
    catalog: the string translated, marked safe where the template autoescapes, then
    formatted. (No email says a plural; one that did would use Flask-Babel's, which is
    right inside `speaking_to` too, only slower.)"""

    @pass_context
    def gettext(context: Context, message: str, /, **variables: Any) -> str:
        text = context.call(translations.gettext, message)
        if context.eval_ctx.autoescape:
            text = Markup(text)
        return text % variables  # type: ignore[no-any-return]

    return {"gettext": gettext}


def language_of(person: User) -> str:
    """The language messages to this person are written in."""
    return language_for(person, list(current_app.config["LANGUAGES"]))


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
    with speaking_to(person) as lang:  # the recipient's language, not the sender's
        subject = str(SUBJECTS[kind])
        body_text = render_email(
            f"email/{kind}.txt", lang=lang, first_name=first_name(person), **context
        )
    outbox.enqueue(
        kind=kind,
        to_address=person.email,
        subject=subject,
        body_text=body_text,
        user_id=person.id,
        booking_id=booking_id,
        due_at=now,
        dedupe_key=dedupe_key,
    )
