"""API: the caller's calendar feed and notification preferences (/api/v1/me/...)."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from teletherapy.clock import utcnow
from teletherapy.services.calendars import feeds as calendar_feeds
from teletherapy.services.messaging import preferences
from teletherapy.web.access import require_actor, roles
from teletherapy.web.schemas import BEARER
from teletherapy.web.validators import StrictBoolean

calendar_bp = Blueprint("api_calendar", __name__, description="Calendar feeds and reminders")
BLUEPRINTS = [calendar_bp]


class CalendarFeedSchema(Schema):
    url = fields.String(
        allow_none=True,
        metadata={"description": "Shown only when the feed is created or rotated, else null."},
    )
    webcal_url = fields.String(allow_none=True)
    created_at = fields.DateTime(allow_none=True)
    is_new = StrictBoolean()


def _payload(address: calendar_feeds.FeedAddress) -> dict[str, Any]:
    return {
        "url": address.url,
        "webcal_url": address.webcal_url,
        "created_at": address.created_at,
        "is_new": address.is_new,
    }


@calendar_bp.route("/me/calendar-feed", methods=["GET"])
@roles()
@calendar_bp.response(200, CalendarFeedSchema)
@calendar_bp.doc(security=BEARER)
def get_feed() -> dict[str, Any]:
    """Your private feed address: created (and shown) the first time, then null until rotated.

    Only a hash of the token is stored, so an existing address cannot be shown again.
    """
    actor = require_actor()
    return _payload(calendar_feeds.get_or_create_feed(user_id=actor.id, now=utcnow()))


@calendar_bp.route("/me/calendar-feed/rotate", methods=["POST"])
@roles()
@calendar_bp.response(200, CalendarFeedSchema)
@calendar_bp.doc(security=BEARER)
def rotate_feed() -> dict[str, Any]:
    """A new feed address; the old one answers 404 from now on."""
    actor = require_actor()
    return _payload(calendar_feeds.rotate_feed(user_id=actor.id, now=utcnow()))


@calendar_bp.route("/me/calendar-feed", methods=["DELETE"])
@roles()
@calendar_bp.response(204)
@calendar_bp.doc(security=BEARER)
def revoke_feed() -> None:
    """Switch the feed off: its address answers 404."""
    actor = require_actor()
    calendar_feeds.revoke_feed(user_id=actor.id, now=utcnow())


class PreferencesSchema(Schema):
    reminder_offsets_minutes = fields.List(
        fields.Integer(strict=True),
        metadata={"description": "Minutes before each session; at most 4, 5..20160."},
    )
    reminders_enabled = StrictBoolean()
    calendar_detail = fields.String(
        validate=validate.OneOf(["discreet", "named", "initials"]),
        metadata={
            "description": "discreet: 'Appointment' (and a calendar named 'Appointments'); "
            "named: 'Session with <name>'; initials: 'Session with A. R.'."
        },
    )


def _preferences_payload(prefs: preferences.Preferences) -> dict[str, Any]:
    return {
        "reminder_offsets_minutes": list(prefs.reminder_offsets_minutes),
        "reminders_enabled": prefs.reminders_enabled,
        "calendar_detail": prefs.calendar_detail,
    }


@calendar_bp.route("/me/notification-preferences", methods=["GET"])
@roles()
@calendar_bp.response(200, PreferencesSchema)
@calendar_bp.doc(security=BEARER)
def get_preferences() -> dict[str, Any]:
    """Your reminder times and how your sessions appear in calendars."""
    return _preferences_payload(preferences.get_preferences(require_actor()))


@calendar_bp.route("/me/notification-preferences", methods=["PUT"])
@roles()
@calendar_bp.arguments(PreferencesSchema)
@calendar_bp.response(200, PreferencesSchema)
@calendar_bp.doc(security=BEARER)
def put_preferences(body: dict[str, Any]) -> dict[str, Any]:
    """Change any of them; pending reminders keep the times they were scheduled with."""
    actor = require_actor()
    return _preferences_payload(preferences.update_preferences(user_id=actor.id, **body))
