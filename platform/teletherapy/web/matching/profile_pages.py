"""The therapist's profile editor and the administrators' licence and fee-band pages."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _

from teletherapy.clock import utcnow
from teletherapy.domain.errors import NotFoundError, ValidationError
from teletherapy.domain.fees import FeeBand
from teletherapy.models import Role
from teletherapy.services.matching import fee_bands, profiles
from teletherapy.web.access import require_actor, roles
from teletherapy.web.errors import translate, translated_errors
from teletherapy.web.matching.forms import FeeBandsForm, GuidelineForm, ProfileForm, VerifyForm

practice_bp = Blueprint("practice_profile", __name__, url_prefix="/practice")
admin_bp = Blueprint("matching_admin", __name__, url_prefix="/admin")

_PROFILE_LISTS = ("modalities", "concerns", "languages", "cultural_backgrounds", "age_groups")


def _cents(dollars: Decimal | None) -> int | None:
    return None if dollars is None else int((dollars * 100).to_integral_value())


def _dollars(cents: int | None) -> Decimal | None:
    return None if cents is None else Decimal(cents) / 100


def _own_therapist_id() -> int:
    actor = require_actor()
    if actor.therapist is None:
        raise NotFoundError("No therapist profile.")
    return actor.therapist.id


def _profile_data(details: profiles.TherapistDetails, bands: list[FeeBand]) -> dict[str, Any]:
    c = details.changes()
    return {
        "display_name": c.display_name,
        "bio": c.bio,
        "photo_url": c.photo_url or "",
        "license_type": c.license_type,
        "license_number": c.license_number,
        "license_state": c.license_state or "",
        "licence_states": [s for s in c.licence_states if s != c.license_state],
        "online_states": list(c.online_states),
        "office_zip": c.office_zip or "",
        "home_zip": c.home_zip or "",
        "home_radius_km": Decimal(str(c.home_radius_km)) if c.home_radius_km else None,
        "gender": c.gender or "",
        "faith_integrated": c.faith_integrated,
        "lgbtq_affirming": c.lgbtq_affirming,
        "offers_individual": c.offers_individual,
        "offers_group": c.offers_group,
        "accepting_new_clients": c.accepting_new_clients,
        "reduced_fee_weekly_cap": c.reduced_fee_weekly_cap,
        "fees": [
            {"code": b.code, "accepts": b.code in c.fees, "dollars": _dollars(c.fees.get(b.code))}
            for b in bands
        ],
        **{name: list(getattr(c, name)) for name in _PROFILE_LISTS},
    }


def _changes(form: ProfileForm) -> profiles.ProfileChanges:
    radius = form.home_radius_km.data
    fees: dict[str, int] = {}
    for row in form.fees:
        cents = _cents(row.dollars.data)
        if row.accepts.data and cents is not None:
            fees[row.code.data] = cents
    return profiles.ProfileChanges(
        display_name=form.display_name.data or "",
        bio=form.bio.data or "",
        photo_url=form.photo_url.data or None,
        license_type=form.license_type.data or "",
        license_number=form.license_number.data or "",
        license_state=form.license_state.data or None,
        licence_states=tuple(form.licence_states.data or ()),
        online_states=tuple(form.online_states.data or ()),
        office_zip=form.office_zip.data or None,
        home_zip=form.home_zip.data or None,
        home_radius_km=float(radius) if radius is not None else None,
        gender=form.gender.data or None,
        faith_integrated=bool(form.faith_integrated.data),
        lgbtq_affirming=bool(form.lgbtq_affirming.data),
        offers_individual=bool(form.offers_individual.data),
        offers_group=bool(form.offers_group.data),
        accepting_new_clients=bool(form.accepting_new_clients.data),
        reduced_fee_weekly_cap=form.reduced_fee_weekly_cap.data,
        fees=fees,
        **{name: tuple(getattr(form, name).data or ()) for name in _PROFILE_LISTS},
    )


def _attach(form: Any, exc: ValidationError) -> None:
    for name, messages in translated_errors(exc).items():
        target = getattr(form, name, None)
        if target is None:
            flash(" ".join(messages), "error")
        else:
            target.errors = [*target.errors, *messages]
    if not exc.errors:
        flash(translate(exc.detail), "error")


@practice_bp.route("/profile", methods=["GET", "POST"])
@roles(Role.THERAPIST)
def edit_profile() -> Any:
    therapist_id = _own_therapist_id()
    details = profiles.get_therapist_details(therapist_id)
    bands = fee_bands.list_fee_bands()
    form = ProfileForm()
    if not form.is_submitted():
        form.process(data=_profile_data(details, bands))
    if form.validate_on_submit():
        try:
            saved = profiles.update_therapist_profile(
                therapist_id=therapist_id, changes=_changes(form)
            )
        except ValidationError as exc:
            _attach(form, exc)
        else:
            if saved.profile.verified_at is None:
                flash(_("Profile saved. An administrator will verify your licence."), "success")
            else:
                flash(_("Profile saved."), "success")
            return redirect(url_for("practice_profile.edit_profile"))
    return render_template(
        "find/profile_edit.html",
        form=form,
        bands={b.code: b for b in bands},
        profile=details.profile,
    ), 422 if form.errors else 200


# --- administrators ---------------------------------------------------------------------


@admin_bp.get("/licences")
@roles(Role.ADMIN)
def licences() -> Any:
    return render_template(
        "find/admin_licences.html",
        waiting=profiles.list_unverified_therapists(),
        form=VerifyForm(),
    )


@admin_bp.post("/licences/<int:therapist_id>/verify")
@roles(Role.ADMIN)
def verify(therapist_id: int) -> Any:
    if VerifyForm().validate_on_submit():
        try:
            profile = profiles.verify_licence(therapist_id=therapist_id, now=utcnow())
        except ValidationError as exc:
            flash(translated_errors(exc).get("license_number", [translate(exc.detail)])[0], "error")
        else:
            flash(
                _("Verified %(name)s; the profile is now public.", name=profile.display_name),
                "success",
            )
    return redirect(url_for("matching_admin.licences"))


def _bands_data(bands: list[FeeBand]) -> dict[str, Any]:
    return {
        "bands": [
            {
                "code": b.code,
                "band_label": b.label,
                "min_dollars": _dollars(b.min_cents),
                "max_dollars": _dollars(b.max_cents),
                "max_fpl_percent": b.max_fpl_percent,
            }
            for b in bands
        ]
    }


def _render_fee_bands(bands_form: FeeBandsForm, guideline_form: GuidelineForm) -> Any:
    status = 422 if bands_form.errors or guideline_form.errors else 200
    return render_template(
        "find/admin_fee_bands.html",
        bands_form=bands_form,
        guideline_form=guideline_form,
        guidelines=fee_bands.list_guidelines(),
    ), status


@admin_bp.get("/fee-bands")
@roles(Role.ADMIN)
def edit_fee_bands() -> Any:
    bands_form = FeeBandsForm(formdata=None, data=_bands_data(fee_bands.list_fee_bands()))
    g = fee_bands.current_guideline()
    guideline_form = GuidelineForm(
        formdata=None,
        data={
            "year": g.year,
            "first_person_dollars": _dollars(g.first_person_cents),
            "each_additional_dollars": _dollars(g.each_additional_cents),
        },
    )
    return _render_fee_bands(bands_form, guideline_form)


@admin_bp.post("/fee-bands")
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
                    _cents(row.min_dollars.data) or 0,
                    _cents(row.max_dollars.data) or 0,
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
            return redirect(url_for("matching_admin.edit_fee_bands"))
    return _render_fee_bands(bands_form, guideline_form)


@admin_bp.post("/poverty-guideline")
@roles(Role.ADMIN)
def save_guideline() -> Any:
    guideline_form = GuidelineForm()
    bands_form = FeeBandsForm(formdata=None, data=_bands_data(fee_bands.list_fee_bands()))
    if guideline_form.validate_on_submit():
        try:
            fee_bands.save_guideline(
                year=guideline_form.year.data or 0,
                first_person_cents=_cents(guideline_form.first_person_dollars.data) or 0,
                each_additional_cents=_cents(guideline_form.each_additional_dollars.data) or 0,
            )
        except ValidationError as exc:
            _attach(
                guideline_form,
                ValidationError(
                    translate(exc.detail),
                    errors={
                        {
                            "first_person_cents": "first_person_dollars",
                            "each_additional_cents": "each_additional_dollars",
                        }.get(k, k): v
                        for k, v in translated_errors(exc).items()
                    },
                ),
            )
        else:
            flash(_("Poverty guideline saved."), "success")
            return redirect(url_for("matching_admin.edit_fee_bands"))
    return _render_fee_bands(bands_form, guideline_form)
