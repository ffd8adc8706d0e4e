"""The application factory and its named registration steps."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from flask import Flask

from teletherapy.settings import load_settings

logger = logging.getLogger(__name__)


def create_app(
    config: dict[str, Any] | None = None, *, instance_path: str | Path | None = None
) -> Flask:
    """Build the app: settings, extensions, blueprints, error handlers, CLI commands."""
    app = Flask(
        "teletherapy",
        instance_path=str(instance_path) if instance_path else None,
        instance_relative_config=True,
    )
    load_settings(app, config)
    register_logging(app)
    register_extensions(app)
    register_gateways(app)
    register_blueprints(app)
    register_error_handlers(app)
    register_cli(app)
    register_dispatcher(app)
    return app


def warm_up(app: Flask) -> None:
    """What a worker would otherwise do during its first bookings, done when it starts
    (gunicorn's post_worker_init): set up the ORM's mappers, compile the email templates,
    load each language's locale data, the ZIP table and the calendar library's first
    rendering, and a booking rolled back (warm_booking); then it freezes what it holds
    (gc.freeze). A process's first winning
    booking cost ~4x the next one, a third of it compiling the four templates of its
    notices; after those, 299 ms against 69 ms, of
    which the first invite rendered (~35 ms: icalendar's first serialisation, the default
    zone's transitions) needs no database; the ZIP table takes ~0.25 s to build."""
    import gc
    from datetime import timedelta

    from babel import Locale
    from babel.dates import format_datetime
    from sqlalchemy.orm import configure_mappers

    from teletherapy.clock import utcnow
    from teletherapy.gateways.ics import IcsEvent, Party, build_invite
    from teletherapy.gateways.zipcodes import find_zip
    from teletherapy.services.availability.rules import DEFAULT_TIME_ZONE

    configure_mappers()  # the models' relationships, else set up by the first ORM query
    for name in app.jinja_env.list_templates(filter_func=lambda n: n.startswith("email/")):
        app.jinja_env.get_template(name)
    now = utcnow()
    for language in app.config["LANGUAGES"]:
        format_datetime(now, locale=Locale.parse(language))
    find_zip("10001")  # builds the ZIP table (gateways/zipcodes.py)
    start = now + timedelta(days=1)
    party = Party("warm-up@teletherapy.invalid")
    build_invite(
        IcsEvent(
            uid="warm-up",
            sequence=0,
            start=start,
            end=start + timedelta(minutes=50),
            time_zone=DEFAULT_TIME_ZONE,
            summary="",
            dtstamp=now,
            organizer=party,
            attendees=(party,),
        )
    )
    # A booking made and refused through the API, rolled back: its statements compiled
    # (PostgreSQL; teletherapy/warm_booking.py).
    from teletherapy.warm_booking import warm_booking

    warm_booking(app)
    # What exists now (the app, the ZIP table, the compiled templates and locale data)
    # lives as long as the worker: the cyclic collector need not walk it again. A full
    # collection of a warmed worker walked ~440,000 objects, 190-220 ms that one request
    # waits whenever it runs; with them frozen, 2-3 ms.
    gc.collect()
    gc.freeze()


def register_logging(app: Flask) -> None:
    """Request lines (werkzeug's, gunicorn's) never carry feed or reset tokens; database
    errors never quote a row's values."""
    from teletherapy.logs import install_database_scrubbing, install_redaction

    install_redaction("werkzeug", "gunicorn.access", "gunicorn.error")
    install_database_scrubbing()


def register_extensions(app: Flask) -> None:
    from teletherapy import models  # noqa: F401  (every table registered before migrations run)
    from teletherapy.extensions import babel, csrf, db, limiter, login_manager, migrate
    from teletherapy.i18n import TRANSLATIONS, compile_catalogs
    from teletherapy.web.i18n.pages import select_locale, select_timezone

    db.init_app(app)
    from teletherapy import replica

    replica.init_app(app)
    migrate.init_app(
        app, db, directory=str(Path(__file__).parent / "migrations"), render_as_batch=True
    )
    login_manager.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    sources = [TRANSLATIONS, *map(Path, app.config["TRANSLATION_DIRECTORIES"])]
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = ";".join(map(str, compile_catalogs(sources)))
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    _configure_sqlite(app)
    _keep_prepared_statements(app)
    from teletherapy.services.availability.openings import install as keep_openings_current

    keep_openings_current()
    from teletherapy.services.calendars.feed_stamps import install as keep_feed_stamps

    keep_feed_stamps()


def register_gateways(app: Flask) -> None:
    """Outside systems built once from the config; the payments ledger joins the lifecycle."""
    from teletherapy.gateways import EXTENSION_KEY, build_gateways
    from teletherapy.services.bookings.hooks import register_payment_hooks
    from teletherapy.services.payments import PAYMENT_HOOKS

    app.extensions[EXTENSION_KEY] = build_gateways(app.config, instance_path=app.instance_path)
    register_payment_hooks(app, PAYMENT_HOOKS)


def _configure_sqlite(app: Flask) -> None:
    """WAL, foreign keys and BEGIN IMMEDIATE so SQLite writers serialise instead of racing."""
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        return
    from sqlalchemy import event

    from teletherapy.extensions import db

    with app.app_context():
        engine = db.engine

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            # Take over transaction control from pysqlite so BEGIN IMMEDIATE is ours.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")


def _keep_prepared_statements(app: Flask) -> None:
    """PostgreSQL: transactions that only read end with COMMIT (prepared.py). Behind
    PgBouncer psycopg prepares nothing, so there is nothing to keep."""
    from teletherapy import prepared
    from teletherapy.extensions import db
    from teletherapy.settings import behind_pgbouncer

    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        return
    if behind_pgbouncer(app.config):
        return
    with app.app_context():
        for engine in db.engines.values():
            prepared.install(engine)


def register_blueprints(app: Flask) -> None:
    from teletherapy.web import register_all

    register_all(app)


def register_error_handlers(app: Flask) -> None:
    from teletherapy.web.errors import register_error_handlers as register

    register(app)


def register_cli(app: Flask) -> None:
    from teletherapy.cli import register_commands

    register_commands(app)


def register_dispatcher(app: Flask) -> None:
    """`make run` runs the dispatcher inside the development server (never in web workers)."""
    if app.config.get("RUN_DISPATCHER"):
        from teletherapy.jobs.scheduler import start_in_process

        start_in_process(app)
