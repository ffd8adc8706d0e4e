"""Blueprints: pages and the JSON API; thin shells around the services."""

from __future__ import annotations

from flask import Flask


def register_all(app: Flask) -> None:
    from . import access, template_helpers
    from .accounts.views import bp as accounts_bp
    from .admin.views import bp as admin_bp
    from .api import register_api
    from .find.profile_views import admin_bp as matching_admin_bp
    from .find.profile_views import practice_bp as practice_profile_bp
    from .find.views import bp as find_bp
    from .main.views import bp as main_bp

    access.init_app(app)
    template_helpers.init_app(app)
    app.register_blueprint(main_bp)
    app.register_blueprint(accounts_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(find_bp)
    app.register_blueprint(practice_profile_bp)
    app.register_blueprint(matching_admin_bp)
    register_api(app)
