"""API: a therapist's own availability (GET|PUT /api/v1/me/availability)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate
from marshmallow import ValidationError as SchemaError

from teletherapy.clock import utcnow
from teletherapy.domain.availability import SETTINGS
from teletherapy.domain.vocabularies import Role
from teletherapy.services import bookings
from teletherapy.services.availability import rules as availability
from teletherapy.web.access import own_therapist_id, roles
from teletherapy.web.schemas import BEARER
from teletherapy.web.validators import StrictBoolean

bp = Blueprint("api_availability", __name__, description="A therapist's working hours")
BLUEPRINTS = [bp]

START_HHMM = r"^([01]\d|2[0-3]):[0-5]\d$"
HHMM = r"^(([01]\d|2[0-3]):[0-5]\d|24:00)$"  # an end: 24:00 is midnight at the end
SETTING_CODES = sorted(SETTINGS)


def _flat_keys(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """Marshmallow nests list errors by index; name fields like the services do: weekly[0].end."""
    flat: dict[str, list[str]] = {}
    if isinstance(messages, Mapping):
        for key, inner in messages.items():
            if isinstance(key, int):
                name = f"{prefix}[{key}]"
            else:
                name = f"{prefix}.{key}" if prefix else str(key)
            for sub, texts in _flat_keys(inner, name).items():
                flat.setdefault(sub, []).extend(texts)
    elif isinstance(messages, list):
        flat[prefix or "_schema"] = [str(m) for m in messages]
    else:
        flat[prefix or "_schema"] = [str(messages)]
    return flat


class _FlatErrors(Schema):
    def handle_error(self, error: SchemaError, data: Any, *, many: bool, **kwargs: Any) -> None:
        raise SchemaError(_flat_keys(error.messages))


class WeeklyRuleSchema(Schema):
    weekday = fields.Integer(
        required=True,
        validate=validate.Range(0, 6),
        metadata={"description": "0 = Monday ... 6 = Sunday"},
    )
    start = fields.String(
        required=True,
        validate=validate.Regexp(START_HHMM, error="Give a time from 00:00 to 23:59."),
        metadata={"example": "09:00", "description": "Wall-clock time in time_zone"},
    )
    end = fields.String(
        required=True,
        validate=validate.Regexp(HHMM, error="Give a time as HH:MM."),
        metadata={"example": "12:00", "description": "00:00 (or 24:00) is midnight at the end"},
    )
    setting = fields.String(required=True, validate=validate.OneOf(SETTING_CODES))


class DateOverrideSchema(Schema):
    date = fields.String(
        required=True,
        validate=validate.Regexp(r"^\d{4}-\d{2}-\d{2}$", error="Give a date as YYYY-MM-DD."),
        metadata={"format": "date", "example": "2026-12-24"},
    )
    available = StrictBoolean(
        metadata={"description": "false: a day off; leave out when giving hours"}
    )
    start = fields.String(
        allow_none=True,
        validate=validate.Regexp(START_HHMM, error="Give a time from 00:00 to 23:59."),
    )
    end = fields.String(
        allow_none=True, validate=validate.Regexp(HHMM, error="Give a time as HH:MM.")
    )
    setting = fields.String(allow_none=True, validate=validate.OneOf(SETTING_CODES))


class AvailabilitySchema(_FlatErrors):
    """The therapist's availability; on PUT a field left out keeps its saved value."""

    # Checked by the service with the one rule (domain time_zone_error), so a bad zone is
    # reported together with every other problem of the body.
    time_zone = fields.String(
        validate=validate.Length(min=1, max=64), metadata={"example": "America/New_York"}
    )
    session_minutes = fields.Integer(metadata={"example": 50})
    buffer_minutes = fields.Integer(metadata={"example": 10})
    min_notice_hours = fields.Integer(metadata={"example": 24})
    horizon_days = fields.Integer(metadata={"example": 60})
    weekly = fields.List(fields.Nested(WeeklyRuleSchema))
    overrides = fields.List(fields.Nested(DateOverrideSchema))
    travel_buffer_minutes = fields.Integer(
        metadata={"description": "Before and after every home visit"}
    )
    max_per_day = fields.Integer(allow_none=True)
    max_per_week = fields.Integer(allow_none=True)
    cancellation_window_hours = fields.Integer(metadata={"example": 24})
    accepting_new_clients = StrictBoolean()
    affected_bookings = fields.String(
        load_only=True,
        validate=validate.OneOf(["keep", "cancel"]),
        metadata={
            "description": "Sessions the change leaves outside your hours: keep them, or "
            "cancel them (full refund; the client is told and invited to book again). "
            "Without it such a change is a 409 listing them as `affected`."
        },
    )


@bp.route("/me/availability", methods=["GET"])
@roles(Role.THERAPIST)
@bp.response(200, AvailabilitySchema)
@bp.doc(security=BEARER)
def get_my_availability() -> dict[str, Any]:
    """Your working hours, date overrides and booking rules."""
    return availability.get_availability(therapist_id=own_therapist_id())


@bp.route("/me/availability", methods=["PUT"])
@roles(Role.THERAPIST)
@bp.arguments(AvailabilitySchema)
@bp.response(200, AvailabilitySchema)
@bp.alt_response(409, description="Booked sessions would fall outside the new hours")
@bp.doc(security=BEARER)
def put_my_availability(body: dict[str, Any]) -> dict[str, Any]:
    """Replace your availability; invalid input is a 422 naming each field and changes nothing.

    A change that leaves booked sessions outside your hours is a 409 problem+json with
    `affected: [{booking_id, start}]` unless `affected_bookings` is "keep" or "cancel".
    """
    choice = body.pop("affected_bookings", None)
    return bookings.change_hours(
        therapist_id=own_therapist_id(), payload=body, now=utcnow(), affected_bookings=choice
    )
