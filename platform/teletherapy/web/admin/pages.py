"""Administration pages: approve therapists, create accounts, see users and dead letters."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Email, Length

from teletherapy.clock import utcnow
from teletherapy.domain.errors import ValidationError
from teletherapy.models import Role
from teletherapy.services.accounts import users as accounts
from teletherapy.services.messaging import outbox
from teletherapy.web.access import roles
from teletherapy.web.accounts.forms import options
from teletherapy.web.errors import translated_errors

bp = Blueprint("admin", __name__, url_prefix="/admin")


ROLE_LABELS = {"client": _l("Client"), "therapist": _l("Therapist"), "admin": _l("Administrator")}
STATUS_LABELS = {
    "active": _l("Active"),
    "pending": _l("Waiting for approval"),
    "disabled": _l("Disabled"),
}


class ActionForm(FlaskForm):
    submit = SubmitField(_l("Go"))


class CreateUserForm(FlaskForm):
    display_name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
    email = EmailField(_l("Email"), validators=[DataRequired(), Email()])
    password = PasswordField(_l("Initial password"), validators=[DataRequired(), Length(min=10)])
    role = SelectField(_l("Role"), choices=options([(r.value, ROLE_LABELS[r.value]) for r in Role]))
    submit = SubmitField(_l("Create account"))


@bp.get("/")
@roles(Role.ADMIN)
def dashboard() -> Any:
    return render_template(
        "admin/dashboard.html",
        pending=accounts.list_pending_therapists(),
        users=accounts.list_users(limit=50),
        dead=outbox.list_dead_letters(limit=50),
        action_form=ActionForm(),
        create_form=CreateUserForm(),
        role_labels=ROLE_LABELS,
        status_labels=STATUS_LABELS,
    )


@bp.post("/therapists/<int:user_id>/approve")
@roles(Role.ADMIN)
def approve(user_id: int) -> Any:
    if ActionForm().validate_on_submit():
        user = accounts.approve_therapist(user_id=user_id)
        flash(_("Approved %(name)s.", name=user.display_name), "success")
    return redirect(url_for("admin.dashboard"))


@bp.post("/users")
@roles(Role.ADMIN)
def create_user() -> Any:
    form = CreateUserForm()
    if form.validate_on_submit():
        try:
            user = accounts.create_user(
                email=form.email.data or "",
                password=form.password.data or "",
                role=form.role.data or "client",
                display_name=form.display_name.data or "",
            )
        except ValidationError as exc:
            for messages in translated_errors(exc).values():
                flash(" ".join(messages), "error")
        else:
            flash(_("Created the account %(email)s.", email=user.email), "success")
    else:
        for field, messages in form.errors.items():
            flash(f"{getattr(form, field).label.text}: {' '.join(messages)}", "error")
    return redirect(url_for("admin.dashboard"))


@bp.post("/dead-letters/<int:message_id>/retry")
@roles(Role.ADMIN)
def retry_dead_letter(message_id: int) -> Any:
    if ActionForm().validate_on_submit():
        outbox.retry_dead_letter(message_id=message_id, now=utcnow())
        flash(_("Message queued again."), "success")
    return redirect(url_for("admin.dashboard"))
