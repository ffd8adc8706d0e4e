"""The language of a request (DESIGN.md's order) and the switch on every page."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    current_app,
    g,
    has_request_context,
    redirect,
    request,
    url_for,
)
from flask_babel import get_locale

from teletherapy.i18n import native_name, text_direction
from teletherapy.web.access import actor_locale, current_actor, is_api_request, public

bp = Blueprint("language", __name__)

COOKIE = "language"
COOKIE_MAX_AGE = 365 * 24 * 3600


def ui_languages() -> list[str]:
    languages: list[str] = list(current_app.config["LANGUAGES"])
    return languages


def select_locale() -> str | None:
    """The signed-in person's language when the UI has it, else the switch's cookie,
    else Accept-Language, else the first configured language (English)."""
    if not has_request_context():
        return None
    languages = ui_languages()
    language, _ = actor_locale()
    if language in languages:
        return language
    if not is_api_request():
        chosen = request.cookies.get(COOKIE)
        if chosen in languages:
            return chosen
    return request.accept_languages.best_match(languages) or languages[0]


def select_timezone() -> str | None:
    if not has_request_context():
        return None
    _, zone = actor_locale()
    return zone


def current_language() -> str:
    return str(get_locale() or ui_languages()[0])


def _safe_next(target: str | None) -> str:
    if (
        target
        and target.startswith("/")
        and not target.startswith("//")
        and not urlsplit(target).netloc
    ):
        return target
    return url_for("main.home")


@bp.post("/language")
@public
def switch() -> Any:
    """Remember the chosen language in a cookie (before sign-in too) and, when signed in,
    as the person's own language, which wins over the cookie."""
    from teletherapy.services.accounts import users as accounts

    chosen = request.form.get("language", "")
    response = redirect(_safe_next(request.form.get("next")))
    if chosen not in ui_languages():
        return response
    response.set_cookie(
        COOKIE,
        chosen,
        max_age=COOKIE_MAX_AGE,
        httponly=True,
        samesite="Lax",
        secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")),
    )
    actor = current_actor()
    if actor is not None and actor.language != chosen:
        accounts.update_account(user_id=actor.id, changes=accounts.AccountChanges(language=chosen))
    return response


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)

    def forget_previous_locale() -> None:
        # Flask-Babel keeps the locale on `g`, which can outlive one request (tests keep
        # one app context open): each request chooses its own language.
        g.pop("_flask_babel", None)

    app.before_request_funcs.setdefault(None, []).insert(0, forget_previous_locale)

    @app.context_processor
    def inject_language() -> dict[str, Any]:
        if not has_request_context():
            return {}
        language = current_language()
        return {
            "html_lang": language,
            "html_dir": text_direction(language),
            "ui_languages": [(code, native_name(code)) for code in ui_languages()],
        }
