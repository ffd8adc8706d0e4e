"""Configuration: defaults, required keys and the fail-fast check."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from flask import Flask

DEFAULTS: dict[str, Any] = {
    "ENV": "development",
    "SECRET_KEY": None,
    "SQLALCHEMY_DATABASE_URI": None,
    "SQLALCHEMY_ENGINE_OPTIONS": {},
    # PostgreSQL: give up on a server that does not answer, rather than hang a worker.
    "DATABASE_CONNECT_TIMEOUT_SECONDS": 3,
    "DATABASE_STATEMENT_TIMEOUT_MS": 5000,
    # "pgbouncer": DATABASE_URL goes through PgBouncer in transaction pooling (engine_options).
    "DATABASE_POOLER": None,
    "DATABASE_REPLICA_POOLER": None,  # the same for DATABASE_REPLICA_URL
    # A streaming replica for reads that may lag (replica.py); unset: every read on the primary.
    "DATABASE_REPLICA_URL": None,
    "DATABASE_REPLICA_MAX_LAG_SECONDS": 2,
    "DATABASE_REPLICA_CHECK_SECONDS": 0.5,  # how long one process trusts its last check
    "DATABASE_REPLICA_CONNECT_TIMEOUT_SECONDS": 2,  # libpq's smallest (1 counts as 2)
    # Matching's "allow online sessions" count of an in-person search is kept this long per
    # state, band, required languages, age group and week (a hint, like a search facet);
    # 0 counts every time.
    "MATCHING_ONLINE_COUNT_MAX_AGE_SECONDS": 60,
    "MAIL_URL": None,
    "MAIL_FROM": "Teletherapy <no-reply@teletherapy.test>",
    "STRIPE_SECRET_KEY": None,
    "STRIPE_PUBLISHABLE_KEY": None,
    "STRIPE_WEBHOOK_SECRET": None,
    "STRIPE_API_BASE": None,
    "VIDEO_BASE_URL": "https://meet.jit.si",
    "RATELIMIT_ENABLED": True,
    "RATELIMIT_STORAGE_URI": "memory://",
    "RATELIMIT_HEADERS_ENABLED": True,
    "PUBLIC_URL": None,  # unset: http://127.0.0.1:$PORT (the port `make run` serves on)
    # The organizer address of discreet calendar entries (unset: MAIL_FROM's address); set it
    # when the mail domain itself names therapy.
    "CALENDAR_ORGANIZER_EMAIL": None,
    "RUN_DISPATCHER": False,
    # Bodies over this are refused with 413 before they are read (bytes; 1 MiB).
    "MAX_CONTENT_LENGTH": 1024 * 1024,
    "DISPATCHER_INTERVAL_SECONDS": 15,
    "PASSWORD_RESET_MAX_AGE_SECONDS": 3600,
    "API_TOKEN_MAX_AGE_DAYS": 90,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "REMEMBER_COOKIE_HTTPONLY": True,
    "REMEMBER_COOKIE_SAMESITE": "Lax",
    "WTF_CSRF_TIME_LIMIT": None,
    # Languages of the interface, the default first: a new one is a catalog and one entry.
    "LANGUAGES": ["en", "es"],
    "BABEL_DEFAULT_LOCALE": "en",
    "TRANSLATION_DIRECTORIES": [],  # more catalog folders beside the package's own
    "WTF_I18N_ENABLED": True,  # WTForms' own messages in the person's language
    # flask-smorest / OpenAPI
    "API_TITLE": "Teletherapy API",
    "API_VERSION": "v1",
    "OPENAPI_VERSION": "3.0.3",
    "OPENAPI_URL_PREFIX": "/api/v1",
    "OPENAPI_JSON_PATH": "openapi.json",
}

# Keys a real deployment must set; development and testing get safe local stand-ins.
REQUIRED_OUTSIDE_DEVELOPMENT = ("SECRET_KEY", "SQLALCHEMY_DATABASE_URI")


class ConfigurationError(RuntimeError):
    """Raised at start-up when a required setting is missing."""


def load_settings(app: Flask, config: dict[str, Any] | None) -> None:
    """Defaults, then instance/config.py, then TELETHERAPY_* variables, then `config`."""
    app.config.from_mapping(DEFAULTS)
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env("TELETHERAPY")
    if os.environ.get("DATABASE_URL"):
        app.config["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(os.environ["DATABASE_URL"])
    if os.environ.get("DATABASE_REPLICA_URL"):
        app.config["DATABASE_REPLICA_URL"] = os.environ["DATABASE_REPLICA_URL"]
    for name in ("DATABASE_POOLER", "DATABASE_REPLICA_POOLER"):
        if os.environ.get(name):
            app.config[name] = os.environ[name]
    if config:
        app.config.from_mapping(config)
    if not app.config.get("PUBLIC_URL"):
        app.config["PUBLIC_URL"] = f"http://127.0.0.1:{os.environ.get('PORT') or '5000'}"
    if app.config.get("SQLALCHEMY_DATABASE_URI"):
        app.config["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(
            app.config["SQLALCHEMY_DATABASE_URI"]
        )
    check_settings(app)
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(app.config)


def engine_options(config: Any) -> dict[str, Any]:
    """Bound parameters never reach a log or an error message (they hold emails and hashes);
    on PostgreSQL a server that accepts connections but never answers fails within seconds.
    """
    options: dict[str, Any] = {"hide_parameters": True, **config["SQLALCHEMY_ENGINE_OPTIONS"]}
    if str(config.get("SQLALCHEMY_DATABASE_URI") or "").startswith("postgresql"):
        connect_args = dict(options.get("connect_args") or {})
        connect_args.setdefault("connect_timeout", int(config["DATABASE_CONNECT_TIMEOUT_SECONDS"]))
        timeout_ms = int(config["DATABASE_STATEMENT_TIMEOUT_MS"])
        # Sessions in UTC: instants come back already in UTC (no per-value conversion from
        # the server's default zone), and SQL date arithmetic never depends on the server.
        # No JIT: these are short queries whose estimated cost can still pass
        # jit_above_cost (matching's per-row probes at 100,000 therapists), and compiling
        # cost 40 ms of a 60 ms query there.
        startup = f"-c statement_timeout={timeout_ms} -c TimeZone=UTC -c jit=off"
        if behind_pgbouncer(config):
            # Transaction pooling: consecutive transactions of one connection may run on
            # different server connections, where psycopg's prepared statements do not
            # exist (PgBouncer < 1.21 does not track them); and PgBouncer refuses the
            # `options` startup parameter. The same three settings are then the database's
            # own (`ALTER DATABASE ... SET`, see docs/topology.md; deploy/topology.py does it).
            connect_args.setdefault("prepare_threshold", None)
        else:
            connect_args.setdefault("options", startup)
        options["connect_args"] = connect_args
        options.setdefault("pool_timeout", int(config["DATABASE_CONNECT_TIMEOUT_SECONDS"]))
        options.setdefault("pool_pre_ping", True)
    return options


POOLERS = ("pgbouncer",)


def behind_pgbouncer(config: Any) -> bool:
    """DATABASE_POOLER names the pooler DATABASE_URL goes through (transaction pooling)."""
    pooler = config.get("DATABASE_POOLER")
    if pooler in (None, "", "none"):
        return False
    if pooler not in POOLERS:
        raise ConfigurationError(f"DATABASE_POOLER must be one of {POOLERS}, not {pooler!r}")
    return True


def normalise_database_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL whatever scheme the operator wrote."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def is_development(app: Flask) -> bool:
    return app.config["ENV"] in {"development", "testing"} or bool(app.config.get("TESTING"))


def check_settings(app: Flask) -> None:
    """Fail fast outside development; in development fill in local defaults."""
    if not is_development(app):
        missing = [key for key in REQUIRED_OUTSIDE_DEVELOPMENT if not app.config.get(key)]
        if missing:
            raise ConfigurationError(
                "Missing required settings: "
                + ", ".join(missing)
                + " (set them in instance/config.py or as TELETHERAPY_<KEY> variables)"
            )
        if app.config.get("RATELIMIT_ENABLED") and not has_shared_rate_limit_store(app):
            raise ConfigurationError(
                "RATELIMIT_STORAGE_URI must name a store shared by every worker "
                "(redis://host:6379/0): limits kept in memory are per worker"
            )
        app.config["SESSION_COOKIE_SECURE"] = True
        app.config["REMEMBER_COOKIE_SECURE"] = True
        return
    instance = Path(app.instance_path)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _development_secret(instance)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        instance.mkdir(parents=True, exist_ok=True)
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{instance / 'teletherapy.sqlite3'}"


SHARED_RATE_LIMIT_SCHEMES = ("redis://", "rediss://", "redis+sentinel://", "redis+cluster://")


def has_shared_rate_limit_store(app: Flask) -> bool:
    return str(app.config.get("RATELIMIT_STORAGE_URI") or "").startswith(SHARED_RATE_LIMIT_SCHEMES)


def _development_secret(instance: Path) -> str:
    """Generate a secret key into instance/ once, so sessions survive restarts."""
    instance.mkdir(parents=True, exist_ok=True)
    path = instance / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()
