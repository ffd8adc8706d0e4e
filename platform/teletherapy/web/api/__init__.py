"""The JSON API under /api/v1 (flask-smorest: the schemas validate and document)."""

from __future__ import annotations

from flask import Flask


def register_api(app: Flask) -> None:
    from flask_smorest import Api

    from ...extensions import csrf
    from . import core

    # One Api per app (tests build many apps); it owns the OpenAPI document.
    api = Api(app)
    api.spec.components.security_scheme(
        "bearer", {"type": "http", "scheme": "bearer", "description": "POST /api/v1/tokens"}
    )
    for blueprint in core.BLUEPRINTS:
        # The API accepts only bearer tokens, never cookies, so CSRF cannot apply.
        csrf.exempt(blueprint)
        api.register_blueprint(blueprint, url_prefix="/api/v1")
