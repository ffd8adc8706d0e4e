"""Calendar pages: the public feed, .ics downloads, and the calendar section of account settings."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, Response, flash, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, StringField, SubmitField
from wtforms.validators import Length

from teletherapy.clock import utcnow
from teletherapy.domain.errors import ValidationError
from teletherapy.services.calendars import feeds as calendar_feeds
from teletherapy.services.calendars import invites
from teletherapy.services.messaging import preferences
from teletherapy.web.access import public, require_actor, roles
from teletherapy.web.downloads import ICS_CONTENT_TYPE, attachment
from teletherapy.web.forms import ActionForm, attach_errors, options
from teletherapy.web.reads import reads_may_lag

bp = Blueprint("calendar", __name__)


class CalendarPreferencesForm(FlaskForm):
    calendar_detail = RadioField(
        _l("How your sessions appear in calendars"),
        choices=options(
            [
                ("discreet", _l("Discreetly, as “Appointment”")),
                ("named", _l("With the other person's name (“Session with …”)")),
                ("initials", _l("With the other person's initials (“Session with A. R.”)")),
            ]
        ),
    )
    reminders_enabled = BooleanField(_l("Email me reminders before sessions"))
    reminder_offsets_minutes = StringField(
        _l("Reminder times, in minutes before the session (e.g. 1440, 60)"),
        validators=[Length(max=100)],
    )
    submit = SubmitField(_l("Save calendar settings"))


def _fresh(etag: str, last_modified: datetime) -> bool:
    """True when the calendar app already has this version (If-None-Match wins if sent)."""
    if request.if_none_match:
        # Weak comparison (RFC 9110): a proxy that compresses may have weakened our tag.
        return request.if_none_match.contains_weak(etag)
    since = request.if_modified_since
    return since is not None and last_modified <= since


def _calendar_response(body: bytes | None, etag: str, last_modified: datetime) -> Response:
    response = Response(body or b"", status=200 if body is not None else 304)
    if body is not None:
        response.content_type = ICS_CONTENT_TYPE
    response.set_etag(etag)
    response.last_modified = last_modified
    # Private: the address is the secret; shared caches must not keep it.
    response.headers["Cache-Control"] = "private, max-age=300"
    return response


@bp.get("/feeds/<token>.ics")
@public
@reads_may_lag
def feed(token: str) -> Response:
    now = utcnow()
    validators = calendar_feeds.feed_validators(token=token, now=now)
    if _fresh(validators.etag, validators.last_modified):
        return _calendar_response(None, validators.etag, validators.last_modified)
    body, etag, last_modified = calendar_feeds.build_feed_for_token(
        token=token, now=now, validators=validators
    )
    return _calendar_response(body, etag, last_modified)


@bp.get("/calendar/bookings/<int:booking_id>/invite.ics")
@roles()
def invite(booking_id: int) -> Response:
    """The booking page's "Download .ics" (signed-in parties only; anyone else: 404)."""
    actor = require_actor()
    ics = invites.get_invite_ics(booking_id=booking_id, user_id=actor.id, now=utcnow())
    return attachment(
        ics, filename=invites.invite_filename(booking_id), content_type=ICS_CONTENT_TYPE
    )


def _render(form: CalendarPreferencesForm, address: Any, status: int = 200) -> Any:
    actor = require_actor()
    return render_template(
        "calendar/settings.html",
        form=form,
        action_form=ActionForm(),
        feed=address or calendar_feeds.find_feed(user_id=actor.id),
    ), status


def _preferences_form(*, submitted: bool = False) -> CalendarPreferencesForm:
    """The preferences as saved, unless this request submitted that form.

    The feed buttons POST too, but not this form: reading their request would blank the
    reminder fields (and saving the page afterwards would turn reminders off).
    """
    actor = require_actor()
    current = preferences.get_preferences(actor)
    form = CalendarPreferencesForm() if submitted else CalendarPreferencesForm(formdata=None)
    if not submitted:
        form.calendar_detail.data = current.calendar_detail
        form.reminders_enabled.data = current.reminders_enabled
        form.reminder_offsets_minutes.data = ", ".join(
            str(o) for o in current.reminder_offsets_minutes
        )
    return form


@bp.route("/calendar/settings", methods=["GET", "POST"])
@roles()
def settings() -> Any:
    actor = require_actor()
    form = _preferences_form(submitted=request.method == "POST")
    if form.validate_on_submit():
        try:
            preferences.update_preferences(
                user_id=actor.id,
                reminder_offsets_minutes=preferences.parse_offsets(
                    form.reminder_offsets_minutes.data or ""
                ),
                reminders_enabled=bool(form.reminders_enabled.data),
                calendar_detail=form.calendar_detail.data,
            )
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            flash(_("Calendar settings saved."), "success")
    return _render(form, None, 422 if form.errors else 200)


@bp.post("/calendar/feed")
@roles()
def create_feed() -> Any:
    actor = require_actor()
    address = calendar_feeds.get_or_create_feed(user_id=actor.id, now=utcnow())
    return _render(_preferences_form(), address)


@bp.post("/calendar/feed/rotate")
@roles()
def rotate_feed() -> Any:
    actor = require_actor()
    address = calendar_feeds.rotate_feed(user_id=actor.id, now=utcnow())
    flash(_("Your old feed address no longer works; subscribe to the new one."), "success")
    return _render(_preferences_form(), address)


@bp.post("/calendar/feed/revoke")
@roles()
def revoke_feed() -> Any:
    actor = require_actor()
    calendar_feeds.revoke_feed(user_id=actor.id, now=utcnow())
    flash(_("Your calendar feed is switched off."), "success")
    return _render(_preferences_form(), None)
