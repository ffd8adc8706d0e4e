"""Logging without secrets: calendar-feed and password-reset tokens never reach a log line."""

from __future__ import annotations

import logging
import re
from typing import Any

# /feeds/<token>.ics, /reset-password/<token>, and any token=... in a query string.
_SECRET_IN_URL = re.compile(
    r"(?P<keep>/feeds/|/reset-password/|(?:^|[?&\s])(?:token|key|secret)=)(?P<secret>[^/?&\s\".]+)"
)
REDACTED = "[redacted]"


def redact(text: str) -> str:
    """`text` with every URL secret replaced by [redacted]."""
    return _SECRET_IN_URL.sub(lambda m: m.group("keep") + REDACTED, text)


class RedactingFilter(logging.Filter):
    """Applies `redact` to the formatted message (werkzeug's request lines, our own)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


# PostgreSQL's DETAIL line repeats the values of a failed row or key ("Key (lower(email))=
# (someone@example.org) already exists", "Failing row contains (...)").
_SERVER_DETAIL = re.compile(r"^DETAIL:.*$", re.M)


def scrub_database_error(exc: BaseException) -> None:
    """Drop the server's DETAIL from a driver error in place: every later str(), traceback
    and log line of it (and of SQLAlchemy's wrapper, which reads it) is then without values.
    """
    args = getattr(exc, "args", ())
    if args and isinstance(args[0], str) and _SERVER_DETAIL.search(args[0]) is not None:
        exc.args = (_SERVER_DETAIL.sub("DETAIL:  " + REDACTED, args[0]), *args[1:])


def install_database_scrubbing() -> None:
    """Every engine: a failed statement's driver error loses the row values it quotes."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    if not event.contains(Engine, "handle_error", _scrub_context):
        event.listen(Engine, "handle_error", _scrub_context)


def _scrub_context(context: Any) -> None:
    # SQLAlchemy's wrapper copied the driver's message when it was built: scrub both.
    scrub_database_error(context.original_exception)
    if context.sqlalchemy_exception is not None:
        scrub_database_error(context.sqlalchemy_exception)


def install_redaction(*names: str) -> None:
    """Add the filter to these loggers and to the handlers already on the root logger."""
    redacting = RedactingFilter()
    for name in names:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(redacting)


from gunicorn.glogging import Logger as _GunicornLogger  # noqa: E402  (a runtime dependency)


class RedactingGunicornLogger(_GunicornLogger):  # type: ignore[misc]
    """gunicorn's logger; access-log atoms (request line, path, query, referer) redacted."""

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        values: dict[str, Any] = super().atoms(resp, req, environ, request_time)
        return {k: redact(v) if isinstance(v, str) else v for k, v in values.items()}
