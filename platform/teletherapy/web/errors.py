"""Errors in one place: problem+json for the API (RFC 9457), friendly pages elsewhere."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from teletherapy.domain.errors import DomainError
from teletherapy.web.access import is_api_request

logger = logging.getLogger(__name__)

PROBLEM_BASE = "https://teletherapy.test/problems/"


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    type_slug: str | None = None,
    errors: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> Response:
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + type_slug if type_slug else "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.path,
    }
    if errors:
        body["errors"] = errors
    if extra:
        body.update(extra)
    response = jsonify(body)
    response.status_code = status
    response.mimetype = "application/problem+json"
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="teletherapy"'
    return response


def _flatten_webargs(messages: Any) -> dict[str, list[str]]:
    """webargs nests messages by location ("json") and by field; flatten to dotted keys."""
    flat: dict[str, list[str]] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), inner)
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            flat.setdefault(prefix or "_schema", []).extend(value)
        elif isinstance(value, list):
            for i, inner in enumerate(value):
                walk(f"{prefix}[{i}]", inner)
        else:
            flat.setdefault(prefix or "_schema", []).append(str(value))

    for location in ("json", "query", "form", "path", "headers", "files"):
        if isinstance(messages, dict) and location in messages:
            walk("", messages[location])
            messages = {k: v for k, v in messages.items() if k != location}
    if messages:
        walk("", messages)
    return flat


def handle_domain_error(exc: DomainError) -> Any:
    if is_api_request():
        return problem(
            exc.status,
            exc.title,
            exc.detail,
            type_slug=exc.type_slug,
            errors=exc.errors or None,
            extra=exc.extra or None,
        )
    return render_template(
        "errors/error.html", status=exc.status, title=exc.title, detail=exc.detail
    ), exc.status


def handle_http_exception(exc: HTTPException) -> Any:
    status = exc.code or 500
    title = exc.name
    detail = exc.description or title
    if is_api_request():
        errors = None
        data = getattr(exc, "data", None)
        if isinstance(data, dict) and "messages" in data:
            errors = _flatten_webargs(data["messages"])
            detail = "Some fields need attention."
            title = "Invalid input"
            return problem(422, title, detail, type_slug="invalid-input", errors=errors)
        return problem(status, title, detail)
    if status == 405 or status >= 500 or status in (400, 404, 413, 429):
        return render_template(
            "errors/error.html", status=status, title=title, detail=detail
        ), status
    return exc


def handle_csrf(exc: CSRFError) -> Any:
    if is_api_request():
        return problem(400, "CSRF check failed", exc.description or "")
    return render_template(
        "errors/error.html",
        status=400,
        title="This form expired",
        detail="Please go back, reload the page and try again.",
    ), 400


def handle_unexpected(exc: Exception) -> Any:
    logger.exception("unhandled error on %s %s", request.method, request.path)
    if is_api_request():
        return problem(500, "Internal Server Error", "Something went wrong on our side.")
    return render_template(
        "errors/error.html",
        status=500,
        title="Something went wrong",
        detail="Please try again in a moment.",
    ), 500


def register_error_handlers(app: Flask) -> None:
    # Registered after flask-smorest's own handler, so ours wins for every HTTP error.
    app.register_error_handler(DomainError, handle_domain_error)
    app.register_error_handler(CSRFError, handle_csrf)
    app.register_error_handler(HTTPException, handle_http_exception)
    if not app.config.get("TESTING") or app.config.get("HANDLE_UNEXPECTED"):
        app.register_error_handler(Exception, handle_unexpected)
