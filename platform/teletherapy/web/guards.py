"""Input every request must pass before a view runs: size, JSON syntax and depth, text, numbers.

One place for what holds for every field of every form, query string and JSON body,
signed in or not: no control characters in text, no integer beyond what a database
column holds, no date outside 1900..2200. A failure is a 4xx before any view, so
nothing is read further and nothing is written.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from typing import Any

from flask import Flask, request
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge
from werkzeug.routing import IntegerConverter

from teletherapy.domain.errors import ValidationError

# C0 controls except tab, line feed and carriage return; DEL; C1 controls.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# Integer columns are 32-bit signed on PostgreSQL; money and ids fit.
MAX_INTEGER = 2**31 - 1
MAX_JSON_DEPTH = 32
MIN_YEAR, MAX_YEAR = 1900, 2200
# A date, month, ISO week or instant: the year is what we bound.
DATE_LIKE = re.compile(
    r"^\s*([+-]?\d{4,6})-((0[1-9]|1[0-2])(-\d{2})?|W\d{2}(-\d)?)([T ]\d{2}:\d{2}.*)?$"
)
SKIPPED_PATHS = ("/webhooks/",)  # signed raw bodies, read as bytes by their own view
# Literal texts (translated where shown; babel.cfg extracts this dict).
MESSAGES = {
    "control": "Remove control characters (such as NUL) from this field.",
    "date": "Give a date between 1900 and 2200.",
    "integer": "Give a number between -2147483648 and 2147483647.",
    "float": "Give a smaller number.",
    "depth": "The JSON nests deeper than 32 levels.",
    "syntax": "The body is not valid JSON.",
}


class InputGuardError(ValidationError):
    """A field failed a rule that holds everywhere (422, the field named)."""


class MalformedBody(BadRequest):
    """The body is not JSON, or nests deeper than anything the API accepts (400)."""


def control_character_error(value: str) -> str | None:
    match = CONTROL_CHARACTERS.search(value)
    if match is None:
        return None
    return MESSAGES["control"]


def date_range_error(value: str) -> str | None:
    match = DATE_LIKE.match(value)
    if match is None:
        return None
    year = int(match.group(1))
    if MIN_YEAR <= year <= MAX_YEAR:
        return None
    return MESSAGES["date"]


def integer_error(value: int) -> str | None:
    if -MAX_INTEGER - 1 <= value <= MAX_INTEGER:
        return None
    return MESSAGES["integer"]


def text_error(value: str, *, numbers: bool = False) -> str | None:
    """Why a text value is refused anywhere, or None. `numbers`: digit strings are integers."""
    problem = control_character_error(value) or date_range_error(value)
    if problem is None and numbers and value.strip().lstrip("+-").isdigit():
        digits = value.strip()
        problem = integer_error(int(digits)) if len(digits) < 30 else integer_error(2**63)
    return problem


def json_depth(value: Any) -> int:
    depth, level = 0, [(value, 1)]
    while level:
        item, d = level.pop()
        depth = max(depth, d)
        if isinstance(item, dict):
            level.extend((v, d + 1) for v in item.values())
        elif isinstance(item, list):
            level.extend((v, d + 1) for v in item)
    return depth


def _walk(value: Any, path: str) -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for key, inner in value.items():
            key_problem = text_error(str(key))
            if key_problem:
                yield (f"{path}.{key!r}" if path else repr(key)), str(key)
            yield from _walk(inner, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for i, inner in enumerate(value):
            yield from _walk(inner, f"{path}[{i}]")
    else:
        yield (path or "_body"), value


def json_errors(value: Any) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for path, leaf in _walk(value, ""):
        problem: str | None = None
        if isinstance(leaf, bool):
            continue
        if isinstance(leaf, str):
            problem = text_error(leaf)
        elif isinstance(leaf, int):
            problem = integer_error(leaf)
        elif isinstance(leaf, float) and abs(leaf) > 1e15:
            problem = MESSAGES["float"]
        if problem:
            errors.setdefault(path, []).append(problem)
    return errors


def parse_json_body() -> Any:
    """The body as JSON or a 400: syntax, encoding and depth problems are not validation."""
    raw = request.get_data(cache=True)
    try:
        value = json.loads(raw)
    except RecursionError:
        raise MalformedBody(MESSAGES["depth"]) from None
    except (ValueError, UnicodeDecodeError):
        raise MalformedBody(MESSAGES["syntax"]) from None
    if json_depth(value) > MAX_JSON_DEPTH:
        raise MalformedBody(MESSAGES["depth"])
    return value


def _bound_streamed_body(limit: int) -> None:
    """A chunked body has no length: read at most `limit` bytes and refuse the rest with 413.

    werkzeug only truncates such a stream at the limit, which would hand views a cut-off
    field; reading one byte more tells us the body is too large. Runs before anything
    else touches the stream, so the body is then served from memory (at most `limit`).
    """
    environ = request.environ
    if not environ.get("wsgi.input_terminated") or request.method in ("GET", "HEAD", "OPTIONS"):
        return
    raw = environ["wsgi.input"].read(limit + 1)
    if len(raw) > limit:
        raise RequestEntityTooLarge()
    environ["wsgi.input"] = io.BytesIO(raw)
    environ["CONTENT_LENGTH"] = str(len(raw))


def check_request_input() -> None:
    """before_request: refuse what no view may ever see."""
    if request.path.startswith(SKIPPED_PATHS):
        return
    limit = request.max_content_length
    if limit is not None and request.content_length is not None and request.content_length > limit:
        raise RequestEntityTooLarge()
    if limit is not None and request.content_length is None:
        _bound_streamed_body(limit)
    errors: dict[str, list[str]] = {}
    for name, value in request.args.items(multi=True):
        for problem in (text_error(name), text_error(value, numbers=True)):
            if problem:
                errors.setdefault(name, []).append(problem)
    if request.method in ("POST", "PUT", "PATCH", "DELETE"):
        if request.is_json:
            if request.content_length != 0 and request.get_data(cache=True):
                errors.update(json_errors(parse_json_body()))
        elif request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            for name, value in request.form.items(multi=True):
                for problem in (text_error(name), text_error(value)):
                    if problem:
                        errors.setdefault(name, []).append(problem)
    if errors:
        raise InputGuardError("Some fields need attention.", errors=errors)


class BoundedIntegerConverter(IntegerConverter):
    """`<int:id>` that matches only what an integer column holds (larger ids are a 404)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_INTEGER)
        super().__init__(*args, **kwargs)


def init_app(app: Flask) -> None:
    """Call before blueprints are registered: the converter applies to rules as they are added."""
    app.url_map.converters["int"] = BoundedIntegerConverter
    # Registered first, so it runs before sign-in checks read anything from the body.
    app.before_request_funcs.setdefault(None, []).insert(0, check_request_input)
