"""The JSON API under /api/v1 (flask-smorest: the schemas validate and document)."""

from __future__ import annotations

from typing import Any

from flask import Flask

from teletherapy.web.guards import MAX_INTEGER

PROBLEM_JSON = "application/problem+json"


def _api_class() -> Any:
    import http

    from flask_smorest import Api
    from flask_smorest.utils import prepare_response

    from teletherapy.web.schemas import ProblemSchema

    class ProblemApi(Api):
        """flask-smorest's Api whose documented errors are RFC 9457 problem+json."""

        ERROR_SCHEMA = ProblemSchema

        def _register_responses(self) -> None:
            for status in http.HTTPStatus:
                response: dict[str, Any] = {"description": status.phrase}
                if not (100 <= status < 200) and status not in (204, 304):
                    response["schema"] = self.ERROR_SCHEMA
                prepare_response(response, self.spec, PROBLEM_JSON)
                self.spec.components.response(status.name, response, lazy=True)
            response = {"description": "An RFC 9457 problem", "schema": self.ERROR_SCHEMA}
            prepare_response(response, self.spec, PROBLEM_JSON)
            self.spec.components.response("DEFAULT_ERROR", response, lazy=True)

    return ProblemApi


# What web/guards.py refuses everywhere, said in the document so clients (and schemathesis)
# know: text without control characters, 32-bit integers (dates: years 1900 to 2200).
NO_CONTROL_CHARACTERS = "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f]*$"


def _bound(schema: Any) -> None:
    """Add the guard's limits to one schema and everything nested in it."""
    if not isinstance(schema, dict):
        return
    kind = schema.get("type")
    if kind == "string" and not {"enum", "pattern", "format"} & set(schema):
        schema["pattern"] = NO_CONTROL_CHARACTERS
    elif kind == "string" and schema.get("format") in ("date", "date-time"):
        schema.setdefault("description", "Years 1900 to 2200.")
    elif kind == "integer":
        schema.setdefault("minimum", -MAX_INTEGER - 1)
        schema.setdefault("maximum", MAX_INTEGER)
    elif kind == "number":
        schema.setdefault("minimum", -1e15)
        schema.setdefault("maximum", 1e15)
    for key in ("properties", "additionalProperties", "items"):
        inner = schema.get(key)
        if key == "properties" and isinstance(inner, dict):
            for value in inner.values():
                _bound(value)
        else:
            _bound(inner)


def _finish_document(document: dict[str, Any]) -> dict[str, Any]:
    """The guard's limits on every field; a body whose fields are all optional may be absent."""
    schemas = document.get("components", {}).get("schemas", {})
    for schema in schemas.values():
        _bound(schema)
    for operations in document.get("paths", {}).values():
        for operation in operations.values() if isinstance(operations, dict) else ():
            for parameter in operation.get("parameters", ()) if isinstance(operation, dict) else ():
                if isinstance(parameter, dict) and parameter.get("in") in ("query", "path"):
                    _bound(parameter.get("schema"))
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            body = operation.get("requestBody") if isinstance(operation, dict) else None
            if not body:
                continue
            ref = body.get("content", {}).get("application/json", {}).get("schema", {})
            name = str(ref.get("$ref", "")).rpartition("/")[2]
            if name in schemas and not schemas[name].get("required"):
                body["required"] = False
    return document


def register_api(app: Flask) -> None:
    from teletherapy.extensions import csrf

    # One Api per app (tests build many apps); it owns the OpenAPI document.
    api = _api_class()(app)
    build = api.spec.to_dict
    api.spec.to_dict = lambda: _finish_document(build())
    api.spec.components.security_scheme(
        "bearer", {"type": "http", "scheme": "bearer", "description": "POST /api/v1/tokens"}
    )
    for blueprint in api_blueprints():
        # The API accepts only bearer tokens, never cookies, so CSRF cannot apply.
        csrf.exempt(blueprint)
        api.register_blueprint(blueprint, url_prefix="/api/v1")


def api_blueprints() -> list[Any]:
    """Every feature's API blueprints (each web/<feature>/api.py lists its own)."""
    from teletherapy.web.accounts import api as accounts
    from teletherapy.web.availability import api as availability
    from teletherapy.web.bookings import api as bookings
    from teletherapy.web.calendars import api as calendars
    from teletherapy.web.equity import api as equity
    from teletherapy.web.groups import api as groups
    from teletherapy.web.matching import api as matching
    from teletherapy.web.screening import api as screening

    modules = (accounts, availability, bookings, calendars, equity, groups, matching, screening)
    return [blueprint for module in modules for blueprint in module.BLUEPRINTS]
