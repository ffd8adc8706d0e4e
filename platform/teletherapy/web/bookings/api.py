"""API: booking, listing, cancelling and moving sessions, and a session's .ics invite."""

from __future__ import annotations

from typing import Any

from flask import Response, url_for
from flask_smorest import Blueprint
from marshmallow import EXCLUDE, Schema, fields, validate

from teletherapy.clock import utcnow
from teletherapy.domain.vocabularies import SETTINGS, Role
from teletherapy.services import bookings as booking_service
from teletherapy.services.bookings import Booking
from teletherapy.services.calendars import invites
from teletherapy.web.access import require_actor, roles
from teletherapy.web.downloads import ICS_CONTENT_TYPE, attachment
from teletherapy.web.formatting import utc_iso_or_none as _z
from teletherapy.web.schemas import BEARER
from teletherapy.web.validators import StrictBoolean

bookings_bp = Blueprint("api_bookings", __name__, description="Booking sessions")

BLUEPRINTS = [bookings_bp]
_SETTING = validate.OneOf(list(SETTINGS))


class BookingCreateSchema(Schema):
    therapist_id = fields.Integer(required=True, strict=True)
    start = fields.AwareDateTime(required=True, metadata={"example": "2026-12-01T23:00:00Z"})
    setting = fields.String(required=True, validate=_SETTING)
    repeat_weekly = fields.Integer(
        allow_none=True,
        strict=True,
        validate=validate.Range(*booking_service.SERIES_WEEKS),
        metadata={"description": "Book the same weekday and local time for N weeks (2-52)."},
    )


class IdempotencyHeaderSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    idempotency_key = fields.String(
        data_key="Idempotency-Key",
        validate=validate.Length(min=1, max=200),
        metadata={"description": "A retry with the same key returns the first booking."},
    )


class CancelSchema(Schema):
    reason = fields.String(allow_none=True, validate=validate.Length(max=500))
    scope = fields.String(
        load_default="one",
        validate=validate.OneOf(["one", "future"]),
        metadata={"description": "'future': this and every later session of its series."},
    )


class RescheduleSchema(Schema):
    start = fields.AwareDateTime(required=True)


class BookingListQuerySchema(Schema):
    when = fields.String(load_default="all", validate=validate.OneOf(["all", "upcoming", "past"]))


class PaymentSchema(Schema):
    client_secret = fields.String(
        allow_none=True, metadata={"description": "For Stripe.js confirmCardSetup."}
    )
    publishable_key = fields.String(allow_none=True)
    pay_url = fields.String(metadata={"description": "The page where the client pays."})


class BookingSchema(Schema):
    id = fields.Integer()
    therapist_id = fields.Integer()
    client_id = fields.Integer(allow_none=True)
    status = fields.String()
    start = fields.String()
    end = fields.String()
    setting = fields.String()
    fee_cents = fields.Integer()
    currency = fields.String()
    series_id = fields.Integer(allow_none=True)
    late = StrictBoolean(metadata={"description": "A client's cancellation inside the window."})
    time_zone = fields.String(metadata={"description": "The therapist's zone when booked."})
    hold_expires_at = fields.String(allow_none=True)
    cancelled_at = fields.String(allow_none=True)
    cancelled_by = fields.String(allow_none=True)
    rescheduled_from_id = fields.Integer(allow_none=True)
    join_page = fields.String(allow_none=True, metadata={"description": "Online sessions."})
    payment = fields.Nested(
        PaymentSchema,
        metadata={"description": "Answering a booking held for payment: how to pay."},
    )
    occurrences = fields.List(
        fields.Nested(lambda: BookingSchema(exclude=("occurrences",))),
        metadata={"description": "Every session of a weekly series just booked."},
    )


class BookingListSchema(Schema):
    bookings = fields.List(fields.Nested(BookingSchema(exclude=("occurrences",))))


def booking_payload(booking: Booking) -> dict[str, Any]:
    """The booking shape fixed by DESIGN.md, plus a few added fields."""
    return {
        "id": booking.id,
        "therapist_id": booking.therapist_id,
        "client_id": booking.client_id,
        "status": booking.status,
        "start": _z(booking.start_at),
        "end": _z(booking.end_at),
        "setting": booking.setting,
        "fee_cents": booking.fee_cents,
        "currency": booking.currency,
        "series_id": booking.series_id,
        "late": bool(booking.is_late_cancellation),
        "time_zone": booking.time_zone,
        "hold_expires_at": _z(booking.hold_expires_at),
        "cancelled_at": _z(booking.cancelled_at),
        "cancelled_by": booking.cancelled_by,
        "rescheduled_from_id": booking.rescheduled_from_id,
        "join_page": (
            invites.public_link(url_for("sessions.join", booking_id=booking.id))
            if booking.setting == "online"
            else None
        ),
    }


@bookings_bp.route("/bookings", methods=["POST"])
@roles(Role.CLIENT)
@bookings_bp.arguments(IdempotencyHeaderSchema, location="headers")
@bookings_bp.arguments(BookingCreateSchema)
@bookings_bp.response(201, BookingSchema)
@bookings_bp.alt_response(409, description="Taken, or not a slot the therapist offers")
@bookings_bp.doc(security=BEARER)
def create_booking(headers: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """Book a slot (or a weekly series); 409 problem+json says why a time cannot be had.

    When the therapist takes cards at booking, the session is `held` until
    `hold_expires_at` and `payment` says how to pay (as the booking page does).
    """
    actor = require_actor()
    result = booking_service.book_session(
        client_id=actor.id,
        therapist_id=body["therapist_id"],
        start=body["start"],
        setting=body["setting"],
        now=utcnow(),
        repeat_weekly=body.get("repeat_weekly"),
        idempotency_key=headers.get("idempotency_key"),
        checkout=True,
    )
    payload = booking_payload(result.first)
    if result.is_series:
        payload["occurrences"] = [booking_payload(b) for b in result.bookings]
    if result.payment is not None:
        payload["payment"] = {
            "client_secret": result.payment.client_secret,
            "publishable_key": result.payment.publishable_key,
            "pay_url": result.payment.pay_url,
        }
    return payload


@bookings_bp.route("/bookings", methods=["GET"])
@roles(Role.CLIENT, Role.THERAPIST)
@bookings_bp.arguments(BookingListQuerySchema, location="query")
@bookings_bp.response(200, BookingListSchema)
@bookings_bp.doc(security=BEARER)
def list_bookings(query: dict[str, Any]) -> dict[str, Any]:
    """Your sessions, as client or as therapist."""
    actor = require_actor()
    rows = booking_service.list_bookings_for(user_id=actor.id, now=utcnow(), when=query["when"])
    return {"bookings": [booking_payload(b) for b in rows]}


@bookings_bp.route("/bookings/<int:booking_id>", methods=["GET"])
@roles(Role.CLIENT, Role.THERAPIST)
@bookings_bp.response(200, BookingSchema)
@bookings_bp.doc(security=BEARER)
def get_booking(booking_id: int) -> dict[str, Any]:
    """One of your sessions (404 for anyone else's)."""
    actor = require_actor()
    return booking_payload(booking_service.get_booking_for(booking_id=booking_id, user_id=actor.id))


@bookings_bp.route("/bookings/<int:booking_id>/cancel", methods=["POST"])
@roles(Role.CLIENT, Role.THERAPIST)
@bookings_bp.arguments(CancelSchema)
@bookings_bp.response(200, BookingSchema)
@bookings_bp.doc(security=BEARER)
def cancel_booking(body: dict[str, Any], booking_id: int) -> dict[str, Any]:
    """Cancel a session; a client's cancellation inside the window is marked late."""
    actor = require_actor()
    booking = booking_service.cancel_booking(
        booking_id=booking_id,
        actor_id=actor.id,
        now=utcnow(),
        reason=body.get("reason"),
        scope=body["scope"],
    )
    return booking_payload(booking)


@bookings_bp.route("/bookings/<int:booking_id>/reschedule", methods=["POST"])
@roles(Role.CLIENT, Role.THERAPIST)
@bookings_bp.arguments(RescheduleSchema)
@bookings_bp.response(200, BookingSchema)
@bookings_bp.alt_response(409, description="The new time is not free; nothing changed")
@bookings_bp.doc(security=BEARER)
def reschedule_booking(body: dict[str, Any], booking_id: int) -> dict[str, Any]:
    """Move a session; the answer is the new booking (`rescheduled_from_id` is the old one)."""
    actor = require_actor()
    booking = booking_service.reschedule_booking(
        booking_id=booking_id, actor_id=actor.id, new_start=body["start"], now=utcnow()
    )
    return booking_payload(booking)


@bookings_bp.route("/bookings/<int:booking_id>/invite.ics", methods=["GET"])
@roles()
@bookings_bp.response(
    200, content_type="text/calendar", description="An iCalendar object (METHOD:REQUEST)."
)
@bookings_bp.doc(security=BEARER)
def get_invite(booking_id: int) -> Response:
    """The booking as an .ics invite (its whole series for a weekly series); parties only."""
    actor = require_actor()
    ics = invites.get_invite_ics(booking_id=booking_id, user_id=actor.id, now=utcnow())
    return attachment(
        ics, filename=invites.invite_filename(booking_id), content_type=ICS_CONTENT_TYPE
    )
