"""Administration pages (every /admin/* page): accounts, dead letters, licences, fee bands."""

from __future__ import annotations

from decimal import InvalidOperation
from typing import Any

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _

from teletherapy.clock import utcnow
from teletherapy.domain.errors import ValidationError
from teletherapy.domain.fees import FeeBand
from teletherapy.domain.vocabularies import Role
from teletherapy.services.accounts import users as accounts
from teletherapy.services.matching import fee_bands, profiles, shapes
from teletherapy.services.messaging import outbox
from teletherapy.web.access import roles
from teletherapy.web.admin import equity
from teletherapy.web.admin.forms import (
    ROLE_LABELS,
    STATUS_LABELS,
    CreateUserForm,
    FeeBandsForm,
    GuidelineForm,
)
from teletherapy.web.errors import translate, translated_errors
from teletherapy.web.forms import ActionForm, attach_errors, to_cents, to_dollars

bp = Blueprint("admin", __name__, url_prefix="/admin")
bp.add_url_rule("/equity", endpoint="equity", view_func=equity.equity)
bp.add_url_rule("/equity.csv", endpoint="equity_csv", view_func=equity.equity_csv)


@bp.get("/")
@roles(Role.ADMIN)
def dashboard() -> Any:
    pending = accounts.list_pending_therapists()
    return render_template(
        "admin/dashboard.html",
        pending=pending,
        # What an approval rests on: the licence, its states and the NPI.
        licence_states=shapes.load_tags(
            [u.therapist.id for u in pending if u.therapist is not None], kinds=["licence_state"]
        ),
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


# --- therapists' licences -------------------------------------------------------------


@bp.get("/licences")
@roles(Role.ADMIN)
def licences() -> Any:
    return render_template(
        "admin/licences.html",
        waiting=profiles.list_unverified_therapists(),
        form=ActionForm(),
    )


@bp.post("/licences/<int:therapist_id>/verify")
@roles(Role.ADMIN)
def verify(therapist_id: int) -> Any:
    if ActionForm().validate_on_submit():
        try:
            profile = profiles.verify_licence(therapist_id=therapist_id, now=utcnow())
        except ValidationError as exc:
            flash(translated_errors(exc).get("license_number", [translate(exc.detail)])[0], "error")
        else:
            flash(
                _("Verified %(name)s; the profile is now public.", name=profile.display_name),
                "success",
            )
    return redirect(url_for("admin.licences"))


# --- fee bands and the federal poverty guideline ----------------------------------------


def _bands_data(bands: list[FeeBand]) -> dict[str, Any]:
    return {
        "bands": [
            {
                "code": b.code,
                "band_label": b.label,
                "min_dollars": to_dollars(b.min_cents),
                "max_dollars": to_dollars(b.max_cents),
                "max_fpl_percent": b.max_fpl_percent,
            }
            for b in bands
        ]
    }


def _render_fee_bands(bands_form: FeeBandsForm, guideline_form: GuidelineForm) -> Any:
    status = 422 if bands_form.errors or guideline_form.errors else 200
    return render_template(
        "admin/fee_bands.html",
        bands_form=bands_form,
        guideline_form=guideline_form,
        guidelines=fee_bands.list_guidelines(),
    ), status


@bp.get("/fee-bands")
@roles(Role.ADMIN)
def edit_fee_bands() -> Any:
    bands_form = FeeBandsForm(formdata=None, data=_bands_data(fee_bands.list_fee_bands()))
    g = fee_bands.current_guideline()
    guideline_form = GuidelineForm(
        formdata=None,
        data={
            "year": g.year,
            "first_person_dollars": to_dollars(g.first_person_cents),
            "each_additional_dollars": to_dollars(g.each_additional_cents),
        },
    )
    return _render_fee_bands(bands_form, guideline_form)


@bp.post("/fee-bands")
@roles(Role.ADMIN)
def save_fee_bands() -> Any:
    bands_form = FeeBandsForm()
    guideline_form = GuidelineForm(formdata=None)
    if bands_form.validate_on_submit():
        try:
            bands = [
                FeeBand(
                    (row.code.data or "").strip(),
                    row.band_label.data or "",
                    to_cents(row.min_dollars.data) or 0,
                    to_cents(row.max_dollars.data) or 0,
                    row.max_fpl_percent.data,
                )
                for row in bands_form.bands
            ]
            fee_bands.update_fee_bands(bands=bands)
        except (ValidationError, InvalidOperation) as exc:
            messages = (
                [m for ms in translated_errors(exc).values() for m in ms]
                if isinstance(exc, ValidationError)
                else ["Enter amounts in dollars."]
            )
            for message in messages:
                flash(message, "error")
        else:
            flash(_("Fee bands saved."), "success")
            return redirect(url_for("admin.edit_fee_bands"))
    return _render_fee_bands(bands_form, guideline_form)


# The service names amounts in cents; the form shows dollars.
_GUIDELINE_FIELD_FOR = {
    "first_person_cents": "first_person_dollars",
    "each_additional_cents": "each_additional_dollars",
}


@bp.post("/poverty-guideline")
@roles(Role.ADMIN)
def save_guideline() -> Any:
    guideline_form = GuidelineForm()
    bands_form = FeeBandsForm(formdata=None, data=_bands_data(fee_bands.list_fee_bands()))
    if guideline_form.validate_on_submit():
        try:
            fee_bands.save_guideline(
                year=guideline_form.year.data or 0,
                first_person_cents=to_cents(guideline_form.first_person_dollars.data) or 0,
                each_additional_cents=to_cents(guideline_form.each_additional_dollars.data) or 0,
            )
        except ValidationError as exc:
            attach_errors(guideline_form, exc, field_for=_GUIDELINE_FIELD_FOR)
        else:
            flash(_("Poverty guideline saved."), "success")
            return redirect(url_for("admin.edit_fee_bands"))
    return _render_fee_bands(bands_form, guideline_form)
