"""Blueprints: pages and the JSON API; thin shells around the services."""

from __future__ import annotations

from flask import Flask


def register_all(app: Flask) -> None:
    from . import access, template_helpers
    from .accounts.views import bp as accounts_bp
    from .admin.views import bp as admin_bp
    from .api import register_api
    from .feeds import bp as calendar_bp
    from .find.profile_views import admin_bp as matching_admin_bp
    from .find.profile_views import practice_bp as practice_profile_bp
    from .find.views import bp as find_bp
    from .groups.views import bp as groups_bp
    from .main.views import bp as main_bp
    from .payments.views import bp as payments_bp
    from .practice.views import bp as practice_bp
    from .sessions.views import bp as sessions_bp

    access.init_app(app)
    template_helpers.init_app(app)
    app.register_blueprint(main_bp)
    app.register_blueprint(accounts_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(practice_bp)
    app.register_blueprint(calendar_bp)
    app.register_blueprint(groups_bp)
    app.register_blueprint(payments_bp)
    app.register_blueprint(sessions_bp)
    app.register_blueprint(find_bp)
    app.register_blueprint(practice_profile_bp)
    app.register_blueprint(matching_admin_bp)
    register_api(app)
