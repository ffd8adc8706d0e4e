"""The JSON API under /api/v1 (flask-smorest: the schemas validate and document)."""

from __future__ import annotations

from typing import Any

from flask import Flask


def register_api(app: Flask) -> None:
    from flask_smorest import Api

    from teletherapy.extensions import csrf

    # One Api per app (tests build many apps); it owns the OpenAPI document.
    api = Api(app)
    api.spec.components.security_scheme(
        "bearer", {"type": "http", "scheme": "bearer", "description": "POST /api/v1/tokens"}
    )
    for blueprint in api_blueprints():
        # The API accepts only bearer tokens, never cookies, so CSRF cannot apply.
        csrf.exempt(blueprint)
        api.register_blueprint(blueprint, url_prefix="/api/v1")


def api_blueprints() -> list[Any]:
    """Every feature's API blueprints (each web/<feature>/api.py lists its own)."""
    from teletherapy.web.accounts import api as accounts
    from teletherapy.web.availability import api as availability
    from teletherapy.web.bookings import api as bookings
    from teletherapy.web.calendars import api as calendars
    from teletherapy.web.equity import api as equity
    from teletherapy.web.groups import api as groups
    from teletherapy.web.matching import api as matching
    from teletherapy.web.screening import api as screening

    modules = (accounts, availability, bookings, calendars, equity, groups, matching, screening)
    return [blueprint for module in modules for blueprint in module.BLUEPRINTS]
