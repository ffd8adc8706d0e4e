"""Errors in one place: problem+json for the API (RFC 9457), friendly pages elsewhere."""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from flask import Flask, Response, current_app, jsonify, render_template, request
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from teletherapy.domain.errors import DomainError, Text
from teletherapy.extensions import abandon_transaction
from teletherapy.web.access import is_api_request
from teletherapy.web.guards import CONTROL_CHARACTERS

logger = logging.getLogger(__name__)

PROBLEM_BASE = "https://teletherapy.test/problems/"

# Titles of HTTP errors in the person's language (werkzeug's own are English only).
HTTP_TITLES = {
    400: _l("Bad request"),
    401: _l("Authentication required"),
    403: _l("Forbidden"),
    404: _l("Not found"),
    405: _l("Method not allowed"),
    409: _l("Conflict"),
    413: _l("Request too large"),
    415: _l("Unsupported media type"),
    422: _l("Invalid input"),
    429: _l("Too many requests"),
    500: _l("Internal server error"),
}
HTTP_DETAILS = {
    400: _l("The request could not be understood."),
    401: _l("Sign in to continue."),
    403: _l("You may not use this."),
    404: _l("There is nothing at this address."),
    405: _l("This address does not accept that method."),
    413: _l("The request is larger than this server accepts."),
    415: _l("Send the body as application/json."),
    429: _l("Too many requests; please wait a moment and try again."),
    500: _l("Something went wrong on our side."),
}


# marshmallow's own messages, so field problems in the API speak the person's language too.
MARSHMALLOW_MESSAGES = (
    _l("Missing data for required field."),
    _l("Unknown field."),
    _l("Field may not be null."),
    _l("Invalid input type."),
    _l("Not a valid string."),
    _l("Not a valid integer."),
    _l("Not a valid number."),
    _l("Not a valid boolean."),
    _l("Not a valid datetime."),
    _l("Not a valid date."),
    _l("Not a valid time."),
    _l("Not a valid list."),
    _l("Not a valid email address."),
    _l("Invalid value."),
)


def translate(text: str) -> str:
    """A message in the person's language when the catalog has it (service and domain
    messages are extracted by teletherapy.i18n.extract_labels; a domain `Text` keeps its
    msgid and values), else as written."""
    if isinstance(text, Text):
        return str(gettext(text.msgid, **text.params))
    return str(gettext(text)) if text else text


def translated_errors(exc: DomainError) -> dict[str, list[str]]:
    """A domain error's field messages in the person's language (for pages)."""
    return {field: [translate(m) for m in messages] for field, messages in exc.errors.items()}


def _translate_errors(errors: dict[str, Any] | None) -> dict[str, Any] | None:
    if not errors:
        return errors
    return {
        field: [translate(m) if isinstance(m, str) else m for m in messages]
        if isinstance(messages, list | tuple)
        else messages
        for field, messages in errors.items()
    }


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
        # The path as asked, less control characters (they are refused in every field).
        "instance": CONTROL_CHARACTERS.sub("", request.path),
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
    title, detail = translate(exc.title), translate(exc.detail)
    if is_api_request():
        return problem(
            exc.status,
            title,
            detail,
            type_slug=exc.type_slug,
            errors=_translate_errors(exc.errors) or None,
            extra=exc.extra or None,
        )
    return render_template(
        "errors/error.html",
        status=exc.status,
        title=title,
        detail=detail,
        errors=translated_errors(exc),
    ), exc.status


def handle_http_exception(exc: HTTPException) -> Any:
    status = exc.code or 500
    title = str(HTTP_TITLES[status]) if status in HTTP_TITLES else exc.name
    # werkzeug's stock description is English; a view's own description may be in the catalog.
    stock = type(exc).description
    if exc.description and exc.description != stock:
        detail = translate(exc.description)
    else:
        detail = str(HTTP_DETAILS.get(status, title))
    if is_api_request():
        errors = None
        data = getattr(exc, "data", None)
        if isinstance(data, dict) and "messages" in data:
            errors = _translate_errors(_flatten_webargs(data["messages"]))
            if status == 400:  # a syntax problem (the body is not JSON), not a field's
                return problem(400, title, gettext("The body is not valid JSON."), errors=errors)
            detail = gettext("Some fields need attention.")
            title = gettext("Invalid input")
            return problem(422, title, detail, type_slug="invalid-input", errors=errors)
        response = problem(status, title, detail)
        _copy_headers(exc, response)
        return response
    if status == 405 or status >= 500 or status in (400, 404, 413, 429):
        response = current_app.make_response(
            (
                render_template("errors/error.html", status=status, title=title, detail=detail),
                status,
            )
        )
        _copy_headers(exc, response)
        return response
    return exc


def _copy_headers(exc: HTTPException, response: Response) -> None:
    """Keep what the exception says beyond its body: `Allow` on 405, `Retry-After` on 429."""
    for name, value in exc.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value


def handle_csrf(exc: CSRFError) -> Any:
    if is_api_request():
        return problem(400, gettext("CSRF check failed"), exc.description or "")
    return render_template(
        "errors/error.html",
        status=400,
        title=gettext("This form expired"),
        detail=gettext("Please go back, reload the page and try again."),
    ), 400


def handle_unexpected(exc: Exception) -> Any:
    logger.exception("unhandled error on %s %s", request.method, request.path)
    if is_api_request():
        return problem(
            500, gettext("Internal server error"), gettext("Something went wrong on our side.")
        )
    return render_template(
        "errors/error.html",
        status=500,
        title=gettext("Something went wrong"),
        detail=gettext("Please try again in a moment."),
    ), 500


def handle_database_unavailable(exc: Exception) -> Any:
    """The database refused, timed out or never answered: 503, and say to retry."""
    # The class name only: the message may hold SQL (never parameters: hide_parameters).
    logger.error("database unavailable on %s %s: %s", request.method, request.path, _kind(exc))
    with contextlib.suppress(Exception):
        abandon_transaction()
    if is_api_request():
        response = problem(
            503,
            gettext("Service unavailable"),
            gettext("The database did not answer in time; please retry in a moment."),
            type_slug="database-unavailable",
        )
    else:
        response = current_app.make_response(
            (
                render_template(
                    "errors/error.html",
                    status=503,
                    title=gettext("We cannot reach our records"),
                    detail=gettext("Please try again in a moment."),
                ),
                503,
            )
        )
    response.headers["Retry-After"] = "5"
    return response


def _kind(exc: Exception) -> str:
    original = getattr(exc, "orig", None)
    return type(original or exc).__name__


def register_error_handlers(app: Flask) -> None:
    from sqlalchemy.exc import OperationalError
    from sqlalchemy.exc import TimeoutError as PoolTimeoutError

    app.register_error_handler(OperationalError, handle_database_unavailable)
    app.register_error_handler(PoolTimeoutError, handle_database_unavailable)
    # Registered after flask-smorest's own handler, so ours wins for every HTTP error.
    app.register_error_handler(DomainError, handle_domain_error)
    app.register_error_handler(CSRFError, handle_csrf)
    app.register_error_handler(HTTPException, handle_http_exception)
    if not app.config.get("TESTING") or app.config.get("HANDLE_UNEXPECTED"):
        app.register_error_handler(Exception, handle_unexpected)
