"""Group pages: the list of open groups, a group's page with its meetings, seats and waitlist."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from teletherapy.clock import utcnow
from teletherapy.domain.availability import local_to_utc, time_zone_error
from teletherapy.domain.errors import ConflictError, ValidationError
from teletherapy.domain.groups import GroupStatus
from teletherapy.domain.vocabularies import Role
from teletherapy.services import groups
from teletherapy.services.accounts import User
from teletherapy.services.groups import TherapyGroup
from teletherapy.web.access import current_actor, public, require_actor, roles
from teletherapy.web.errors import translate
from teletherapy.web.formatting import local_time
from teletherapy.web.forms import ActionForm, attach_errors
from teletherapy.web.groups.forms import GroupForm

bp = Blueprint("groups", __name__, url_prefix="/groups")


@bp.app_context_processor
def _group_vocabulary() -> dict[str, Any]:
    return {"GroupStatus": GroupStatus}


# Service field names that the form shows under another name.
_FIELD_FOR = {"first_start": "first_date", "fee_cents": "fee"}


def _cards(items: list[TherapyGroup]) -> dict[str, Any]:
    return {
        "meetings": groups.list_meetings(g.id for g in items),
        "names": groups.therapist_names(g.therapist_id for g in items),
    }


@bp.get("/")
@public
def index() -> str:
    viewer = current_actor()
    now = utcnow()
    open_groups = groups.list_groups(now=now)
    own: list[TherapyGroup] = []
    if viewer is not None and viewer.role == Role.CLIENT.value:
        own = groups.list_my_groups(client_id=viewer.id)
    elif viewer is not None and viewer.therapist_id is not None:
        own = groups.list_groups(therapist_id=viewer.therapist_id, open_only=False)
    return render_template(
        "groups/index.html", open_groups=open_groups, own=own, **_cards(open_groups + own)
    )


@bp.route("/new", methods=["GET", "POST"])
@roles(Role.THERAPIST)
def new() -> Any:
    actor = require_actor()
    form = GroupForm()
    if not form.is_submitted():
        form.time_zone.data = groups.default_time_zone(therapist_user_id=actor.id)
    if form.validate_on_submit():
        group = _create(actor, form)
        if group is not None:
            flash(_("Your group is created and its meetings are on your calendar."), "success")
            return redirect(url_for("groups.detail", group_id=group.id))
    return render_template("groups/new.html", form=form), 422 if form.errors else 200


def _create(actor: User, form: GroupForm) -> TherapyGroup | None:
    zone = form.time_zone.data or ""
    problem = time_zone_error(zone)
    if problem:
        form.time_zone.errors = [problem]
        return None
    assert form.first_date.data is not None and form.first_time.data is not None
    first_start = local_to_utc(form.first_date.data, form.first_time.data, ZoneInfo(zone))
    fee = form.fee.data if form.fee.data is not None else Decimal(0)
    try:
        return groups.create_group(
            therapist_user_id=actor.id,
            title=form.title.data or "",
            modality=form.modality.data or "",
            setting=form.setting.data or "",
            capacity=form.capacity.data or 0,
            fee_cents=int((fee * 100).to_integral_value()),
            first_start=first_start,
            duration_minutes=form.duration_minutes.data or 0,
            weekly_count=form.weekly_count.data or 0,
            description=form.description.data or "",
            time_zone=zone,
            now=utcnow(),
        )
    except ValidationError as exc:
        attach_errors(form, exc, field_for=_FIELD_FOR)
    except ConflictError as exc:
        clashes = ", ".join(
            local_time(datetime.fromisoformat(s), actor.time_zone) for s in exc.extra["conflicts"]
        )
        form.first_date.errors = [f"These meetings clash with your calendar: {clashes}."]
    return None


@bp.get("/<int:group_id>")
@public
def detail(group_id: int) -> str:
    viewer = current_actor()
    group = groups.get_group(group_id)
    membership = None
    roster: list[str] | None = None
    if viewer is not None and viewer.role == Role.CLIENT.value:
        membership = groups.get_membership(group_id=group.id, client_id=viewer.id)
    if viewer is not None and viewer.therapist_id == group.therapist_id:
        roster = groups.list_roster(group_id=group.id, therapist_user_id=viewer.id)
    now = utcnow()
    return render_template(
        "groups/detail.html",
        group=group,
        meetings=groups.list_meetings([group.id]).get(group.id, []),
        therapist_name=groups.therapist_names([group.therapist_id]).get(group.therapist_id, ""),
        membership=membership,
        roster=roster,
        waiting=groups.count_waiting(group.id),
        viewer_zone=viewer.time_zone if viewer else "America/New_York",
        is_joinable=group.status == "open" and now < group.ends_at,
        action_form=ActionForm(),
    )


@bp.post("/<int:group_id>/cancel")
@roles(Role.THERAPIST)
def cancel(group_id: int) -> Response:
    actor = require_actor()
    if ActionForm().validate_on_submit():
        try:
            groups.cancel_group(group_id=group_id, therapist_user_id=actor.id, now=utcnow())
        except ConflictError as exc:
            flash(translate(exc.detail), "error")
        else:
            flash(_("The group is cancelled; its members are told by email."), "success")
    return redirect(url_for("groups.detail", group_id=group_id))


def _act(group_id: int, action: Any, success: str) -> Response:
    """Run one client action from a button; a conflict is explained on the group's page."""
    actor = require_actor()
    if ActionForm().validate_on_submit():
        try:
            action(group_id=group_id, client_id=actor.id, now=utcnow())
        except ConflictError as exc:
            flash(translate(exc.detail), "error")
        else:
            flash(success, "success")
    return redirect(url_for("groups.detail", group_id=group_id))


@bp.get("/<int:group_id>/seat")
@roles(Role.CLIENT)
def confirm_seat(group_id: int) -> str:
    """The confirm step: price per meeting, how many meetings, the total; then the seat."""
    return render_template(
        "groups/confirm_seat.html",
        terms=groups.seat_terms(group_id=group_id, now=utcnow()),
        action_form=ActionForm(),
    )


@bp.post("/<int:group_id>/seat")
@roles(Role.CLIENT)
def take_seat(group_id: int) -> Response:
    return _act(group_id, groups.take_seat, "Your seat is booked for every meeting of the group.")


@bp.post("/<int:group_id>/seat/leave")
@roles(Role.CLIENT)
def leave_seat(group_id: int) -> Response:
    return _act(group_id, groups.leave_seat, "You have left the group.")


@bp.post("/<int:group_id>/waitlist")
@roles(Role.CLIENT)
def join_waitlist(group_id: int) -> Response:
    return _act(
        group_id,
        groups.join_waitlist,
        "You are on the waitlist. If a seat frees up and you are first, it is yours "
        "and we email you.",
    )


@bp.post("/<int:group_id>/waitlist/leave")
@roles(Role.CLIENT)
def leave_waitlist(group_id: int) -> Response:
    return _act(group_id, groups.leave_waitlist, "You have left the waitlist.")
