"""Logging without secrets: calendar-feed and password-reset tokens never reach a log line."""

from __future__ import annotations

import logging
import re
from typing import Any

# /feeds/<token>.ics, /reset-password/<token>, and any token=... in a query string.
_SECRET_IN_URL = re.compile(
    r"(?P<keep>/feeds/|/reset-password/|[?&](?:token|key|secret)=)(?P<secret>[^/?&\s\".]+)"
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
