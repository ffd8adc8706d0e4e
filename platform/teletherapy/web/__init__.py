"""Blueprints: pages and the JSON API; thin shells around the services."""

from __future__ import annotations

from flask import Flask


def register_all(app: Flask) -> None:
    from teletherapy.web import access, audit, guards, headers
    from teletherapy.web import formatting as template_helpers
    from teletherapy.web.accounts.pages import bp as accounts_bp
    from teletherapy.web.admin.audit_pages import bp as audit_admin_bp
    from teletherapy.web.admin.pages import bp as admin_bp
    from teletherapy.web.bookings.pages import bp as sessions_bp
    from teletherapy.web.calendars.pages import bp as calendar_bp
    from teletherapy.web.groups.pages import bp as groups_bp
    from teletherapy.web.i18n import pages as language
    from teletherapy.web.main.pages import bp as main_bp
    from teletherapy.web.matching.pages import bp as find_bp
    from teletherapy.web.openapi import register_api
    from teletherapy.web.payments.pages import bp as payments_bp
    from teletherapy.web.practice.pages import bp as practice_bp
    from teletherapy.web.screening.pages import bp as screening_bp

    guards.init_app(app)
    access.init_app(app)
    headers.init_app(app)
    audit.init_app(app)
    template_helpers.init_app(app)
    language.init_app(app)
    app.register_blueprint(main_bp)
    app.register_blueprint(accounts_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(audit_admin_bp)
    app.register_blueprint(practice_bp)
    app.register_blueprint(calendar_bp)
    app.register_blueprint(groups_bp)
    app.register_blueprint(payments_bp)
    app.register_blueprint(sessions_bp)
    app.register_blueprint(find_bp)
    app.register_blueprint(screening_bp)
    register_api(app)
