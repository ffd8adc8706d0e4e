"""Files a person downloads (an .ics invite, a superbill PDF): private, never cached."""

from __future__ import annotations

from flask import Response

ICS_CONTENT_TYPE = "text/calendar; charset=utf-8"


def attachment(body: bytes, *, filename: str, content_type: str) -> Response:
    """`body` as a download named `filename`; it holds someone's sessions, so no-store."""
    response = Response(body, content_type=content_type)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response
