"""API: therapy groups, their seats and their waitlists."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from teletherapy.clock import utcnow
from teletherapy.domain.errors import AuthenticationError
from teletherapy.domain.vocabularies import MODALITIES, Role
from teletherapy.services import groups
from teletherapy.services.accounts import User
from teletherapy.services.groups import GroupSeat, GroupWaitlistEntry, TherapyGroup
from teletherapy.web.access import current_actor, public, require_actor, roles
from teletherapy.web.schemas import BEARER, UtcDateTime
from teletherapy.web.validators import QueryBoolean, StrictBoolean, TimeZoneField

bp = Blueprint("api_groups", __name__, description="Group sessions: seats and waitlists")
BLUEPRINTS = [bp]


class GroupCreateSchema(Schema):
    title = fields.String(required=True, validate=validate.Length(min=1, max=120))
    modality = fields.String(required=True, validate=validate.OneOf(list(MODALITIES)))
    setting = fields.String(required=True, validate=validate.OneOf(groups.GROUP_SETTINGS))
    capacity = fields.Integer(
        required=True,
        validate=validate.Range(min=groups.MIN_CAPACITY, max=groups.MAX_CAPACITY),
    )
    fee_cents = fields.Integer(
        required=True, metadata={"description": "Per meeting and per client, in cents."}
    )
    currency = fields.String(load_default="usd", validate=validate.OneOf(groups.CURRENCIES))
    description = fields.String(load_default="", validate=validate.Length(max=2000))
    first_start = fields.AwareDateTime(
        required=True, metadata={"description": "The first meeting, with its UTC offset."}
    )
    duration_minutes = fields.Integer(required=True)
    weekly_count = fields.Integer(
        required=True, metadata={"description": "Meetings, one a week at the same local time."}
    )
    time_zone = TimeZoneField(
        metadata={"description": "IANA zone whose wall-clock time the meetings keep "
        "(default: the therapist's availability zone)."}
    )  # fmt: skip


class GroupListQuerySchema(Schema):
    therapist_id = fields.Integer()
    mine = QueryBoolean(
        load_default=False,
        metadata={"description": "Clients: groups where you hold a seat. Therapists: your groups."},
    )


class MeetingSchema(Schema):
    start = UtcDateTime()
    end = UtcDateTime()
    status = fields.String()


class MembershipSchema(Schema):
    seated = StrictBoolean()
    waitlist_position = fields.Integer(allow_none=True)


class GroupSchema(Schema):
    id = fields.Integer()
    therapist_id = fields.Integer()
    therapist_name = fields.String()
    title = fields.String()
    modality = fields.String()
    setting = fields.String()
    capacity = fields.Integer()
    seats_taken = fields.Integer()
    seats_left = fields.Integer()
    waitlist_count = fields.Integer()
    fee_cents = fields.Integer()
    currency = fields.String()
    description = fields.String()
    time_zone = fields.String()
    status = fields.String()
    meetings = fields.List(fields.Nested(MeetingSchema))
    created_at = UtcDateTime()
    membership = fields.Nested(MembershipSchema, allow_none=True)


class GroupCancelSchema(Schema):
    reason = fields.String(load_default="", validate=validate.Length(max=500))


class GroupListSchema(Schema):
    groups = fields.List(fields.Nested(GroupSchema))


class SeatSchema(Schema):
    group_id = fields.Integer()
    client_id = fields.Integer()
    status = fields.String()
    taken_at = UtcDateTime()


class WaitlistEntrySchema(Schema):
    group_id = fields.Integer()
    client_id = fields.Integer()
    status = fields.String()
    position = fields.Integer(allow_none=True)
    created_at = UtcDateTime()


def group_payloads(items: list[TherapyGroup], viewer: User | None) -> list[dict[str, Any]]:
    meetings = groups.list_meetings(g.id for g in items)
    names = groups.therapist_names(g.therapist_id for g in items)
    waiting = groups.waiting_counts(g.id for g in items)
    payloads = []
    for group in items:
        membership = None
        if viewer is not None and viewer.role == Role.CLIENT.value:
            found = groups.get_membership(group_id=group.id, client_id=viewer.id)
            membership = {"seated": found.is_seated, "waitlist_position": found.waitlist_position}
        payloads.append(
            {
                "id": group.id,
                "therapist_id": group.therapist_id,
                "therapist_name": names.get(group.therapist_id, ""),
                "title": group.title,
                "modality": group.modality,
                "setting": group.setting,
                "capacity": group.capacity,
                "seats_taken": group.seats_taken,
                "seats_left": group.seats_left,
                "waitlist_count": waiting[group.id],
                "fee_cents": group.fee_cents,
                "currency": group.currency,
                "description": group.description,
                "time_zone": group.time_zone,
                "status": group.status,
                "meetings": [
                    {"start": m.start_at, "end": m.end_at, "status": m.status}
                    for m in meetings.get(group.id, [])
                ],
                "created_at": group.created_at,
                "membership": membership,
            }
        )
    return payloads


@bp.route("/groups", methods=["GET"])
@public
@bp.arguments(GroupListQuerySchema, location="query")
@bp.response(200, GroupListSchema)
def list_groups(query: dict[str, Any]) -> dict[str, Any]:
    """Open groups that have not ended, by first meeting (or your own with `mine`)."""
    viewer = current_actor()
    now = utcnow()
    if query["mine"]:
        if viewer is None:
            raise AuthenticationError("Send a bearer token to list your own groups.")
        if viewer.therapist_id is not None:
            items = groups.list_groups(therapist_id=viewer.therapist_id, open_only=False)
        else:
            items = groups.list_my_groups(client_id=viewer.id)
    else:
        items = groups.list_groups(therapist_id=query.get("therapist_id"), now=now)
    return {"groups": group_payloads(items, viewer)}


@bp.route("/groups", methods=["POST"])
@roles(Role.THERAPIST)
@bp.arguments(GroupCreateSchema)
@bp.response(201, GroupSchema)
@bp.doc(security=BEARER)
def create_group(body: dict[str, Any]) -> dict[str, Any]:
    """Create a group and book its weekly meetings; 409 lists meetings that clash."""
    actor = require_actor()
    group = groups.create_group(therapist_user_id=actor.id, now=utcnow(), **body)
    return group_payloads([group], actor)[0]


@bp.route("/groups/<int:group_id>", methods=["GET"])
@public
@bp.response(200, GroupSchema)
def get_group(group_id: int) -> dict[str, Any]:
    """One group with its meetings (and, for a client, their seat or waitlist place)."""
    return group_payloads([groups.get_group(group_id)], current_actor())[0]


@bp.route("/groups/<int:group_id>/cancel", methods=["POST"])
@roles(Role.THERAPIST)
@bp.arguments(GroupCancelSchema)
@bp.response(200, GroupSchema)
@bp.doc(security=BEARER)
def cancel_group(body: dict[str, Any], group_id: int) -> dict[str, Any]:
    """Cancel your group: future meetings leave your calendar and members are emailed."""
    actor = require_actor()
    group = groups.cancel_group(
        group_id=group_id, therapist_user_id=actor.id, now=utcnow(), reason=body["reason"]
    )
    return group_payloads([group], actor)[0]


def seat_payload(seat: GroupSeat) -> dict[str, Any]:
    return {
        "group_id": seat.group_id,
        "client_id": seat.client_id,
        "status": seat.status,
        "taken_at": seat.taken_at,
    }


@bp.route("/groups/<int:group_id>/seats", methods=["POST"])
@roles(Role.CLIENT)
@bp.response(201, SeatSchema)
@bp.doc(security=BEARER)
def take_seat(group_id: int) -> dict[str, Any]:
    """Take a seat for the whole group; 409 with `"waitlist": true` when it is full."""
    actor = require_actor()
    return seat_payload(groups.take_seat(group_id=group_id, client_id=actor.id, now=utcnow()))


@bp.route("/groups/<int:group_id>/seats/me", methods=["DELETE"])
@roles(Role.CLIENT)
@bp.response(204)
@bp.doc(security=BEARER)
def leave_seat(group_id: int) -> None:
    """Give up your seat; the first client on the waitlist gets it and is told."""
    actor = require_actor()
    groups.leave_seat(group_id=group_id, client_id=actor.id, now=utcnow())


def entry_payload(entry: GroupWaitlistEntry, position: int | None) -> dict[str, Any]:
    return {
        "group_id": entry.group_id,
        "client_id": entry.client_id,
        "status": entry.status,
        "position": position,
        "created_at": entry.created_at,
    }


@bp.route("/groups/<int:group_id>/waitlist", methods=["POST"])
@roles(Role.CLIENT)
@bp.response(201, WaitlistEntrySchema)
@bp.doc(security=BEARER)
def join_waitlist(group_id: int) -> dict[str, Any]:
    """Join a full group's waitlist; the next freed seat goes to the first in line."""
    actor = require_actor()
    entry = groups.join_waitlist(group_id=group_id, client_id=actor.id, now=utcnow())
    position = groups.get_membership(group_id=group_id, client_id=actor.id).waitlist_position
    return entry_payload(entry, position)


@bp.route("/groups/<int:group_id>/waitlist/me", methods=["DELETE"])
@roles(Role.CLIENT)
@bp.response(204)
@bp.doc(security=BEARER)
def leave_waitlist(group_id: int) -> None:
    """Leave a group's waitlist."""
    actor = require_actor()
    groups.leave_waitlist(group_id=group_id, client_id=actor.id, now=utcnow())
