"""Who is asking, and which roles may reach which view: enforced here and only here.

A view declares its roles with `@roles(...)`; `enforce_roles` runs before every
request. Pages use the signed-in session; the API uses only bearer tokens (so
the API needs no CSRF protection and a browser session cannot drive it).
Someone else's data is a 404 from the services, never a 403.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, current_app, g, redirect, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from teletherapy.clock import utcnow
from teletherapy.domain.errors import AuthenticationError, NotFoundError, PermissionDenied
from teletherapy.domain.vocabularies import Role
from teletherapy.extensions import login_manager
from teletherapy.services.accounts import User

F = TypeVar("F", bound=Callable[..., Any])

ANY_SIGNED_IN = frozenset(r.value for r in Role)


def roles(*allowed: Role | str) -> Callable[[F], F]:
    """Mark a view as reachable only by these roles (no arguments: any signed-in user)."""
    codes = frozenset(r.value if isinstance(r, Role) else r for r in allowed) or ANY_SIGNED_IN

    def mark(view: F) -> F:
        view._required_roles = codes  # type: ignore[attr-defined]
        return view

    return mark


def public(view: F) -> F:
    """Mark a view as open to everyone (every view is either `public` or has `roles`)."""
    view._is_public = True  # type: ignore[attr-defined]
    return view


def is_api_request() -> bool:
    return request.path.startswith("/api/")


def _bearer_user() -> User | None:
    from teletherapy.services.accounts.users import find_user_for_token

    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return find_user_for_token(token.strip(), now=utcnow())


def current_actor() -> User | None:
    """The signed-in user: bearer token for the API, session cookie for pages."""
    if "actor" not in g:
        if is_api_request():
            g.actor = _bearer_user()
            if g.actor is not None:
                g.actor_locale = (g.actor.language, g.actor.time_zone)
        else:
            g.actor = current_user._get_current_object() if current_user.is_authenticated else None
    actor: User | None = g.actor
    return actor


def actor_locale() -> tuple[str | None, str | None]:
    """(language, time zone) of the signed-in person. An API request keeps the values
    read with its token: a refused booking rolls back, which expires the actor, and
    its problem's translation would otherwise read the account again."""
    actor = current_actor()
    if actor is None:
        return None, None
    if "actor_locale" in g:
        language, zone = g.actor_locale
        return language, zone
    return actor.language, actor.time_zone


def require_actor() -> User:
    actor = current_actor()
    if actor is None:
        raise AuthenticationError("Sign in to continue.")
    return actor


def own_therapist_id() -> int:
    """The signed-in therapist's practice; an account without one has nothing here (404)."""
    therapist_id = require_actor().therapist_id
    if therapist_id is None:
        raise NotFoundError("This account has no practice.")
    return therapist_id


def enforce_roles() -> Response | None:
    view = current_app.view_functions.get(request.endpoint or "")
    required: frozenset[str] | None = getattr(view, "_required_roles", None)
    if required is None:
        return None
    actor = current_actor()
    if actor is None:
        if is_api_request():
            raise AuthenticationError(
                "Send 'Authorization: Bearer <token>' from POST /api/v1/tokens."
            )
        return redirect(url_for("accounts.sign_in", next=request.full_path.rstrip("?")))
    if actor.role not in required:
        raise PermissionDenied("Your account's role cannot use this page.")
    return None


def init_app(app: Flask) -> None:
    login_manager.login_view = "accounts.sign_in"
    login_manager.login_message = "Please sign in to continue."
    login_manager.session_protection = "strong"

    @login_manager.user_loader
    def load_user(user_id: str) -> User | None:
        # "<id>:<sign-in key>": a cookie whose session was ended (sign-out, a new
        # password, "sign out everywhere") loads nobody, even if it was copied.
        from teletherapy.services.accounts.sessions import find_signed_in_user

        number, _, key = user_id.partition(":")
        if not number.isdigit() or len(number) > 10 or not key:
            return None
        return find_signed_in_user(user_id=int(number), key=key)

    @app.before_request
    def forget_previous_actor() -> None:
        # `g` belongs to the app context, which can outlive one request (tests keep
        # one open); the actor must always be the one of *this* request.
        g.pop("actor", None)
        g.pop("_login_user", None)  # flask-login's cache: load this request's own user

    app.before_request(enforce_roles)
