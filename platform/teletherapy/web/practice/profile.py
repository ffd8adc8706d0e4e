"""The therapist's public profile editor (/practice/profile); it calls services.matching."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _

from teletherapy.domain.errors import ValidationError
from teletherapy.domain.fees import FeeBand
from teletherapy.domain.vocabularies import Role
from teletherapy.services.matching import fee_bands, profiles
from teletherapy.web.access import own_therapist_id, roles
from teletherapy.web.formatting import band_label, money
from teletherapy.web.forms import attach_errors, to_cents, to_dollars
from teletherapy.web.practice.forms import ProfileForm

_PROFILE_LISTS = ("modalities", "concerns", "languages", "cultural_backgrounds", "age_groups")


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
            {"code": b.code, "accepts": b.code in c.fees, "dollars": to_dollars(c.fees.get(b.code))}
            for b in bands
        ],
        **{name: list(getattr(c, name)) for name in _PROFILE_LISTS},
    }


def _changes(form: ProfileForm) -> profiles.ProfileChanges:
    radius = form.home_radius_km.data
    fees: dict[str, int] = {}
    for row in form.fees:
        cents = to_cents(row.dollars.data)
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


def _fee_errors_by_row(form: ProfileForm, bands: list[FeeBand]) -> None:
    """Each price outside its band's range gets its own message, next to its field, naming
    the band as people see it (the API keeps its one list under "fees")."""
    by_code = {b.code: b for b in bands}
    placed = False
    for row in form.fees:
        band = by_code.get(row.code.data or "")
        cents = to_cents(row.dollars.data)
        if band is None or not row.accepts.data or cents is None:
            continue
        if not band.min_cents <= cents <= band.max_cents:
            row.dollars.errors = [
                _(
                    "%(band)s: enter a price between %(low)s and %(high)s.",
                    band=band_label(band.label),
                    low=money(band.min_cents),
                    high=money(band.max_cents),
                )
            ]
            placed = True
    if placed:
        form.fees.errors = []  # said next to each price instead


@roles(Role.THERAPIST)
def edit_profile() -> Any:
    therapist_id = own_therapist_id()
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
            attach_errors(form, exc)
            if "fees" in exc.errors:
                _fee_errors_by_row(form, bands)
        else:
            if saved.profile.verified_at is None:
                flash(_("Profile saved. An administrator will verify your licence."), "success")
            else:
                flash(_("Profile saved."), "success")
            return redirect(url_for("practice.edit_profile"))
    return render_template(
        "practice/profile.html",
        form=form,
        bands={b.code: b for b in bands},
        profile=details.profile,
    ), 422 if form.errors else 200
