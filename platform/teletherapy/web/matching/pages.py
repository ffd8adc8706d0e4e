"""Pages to find a therapist: the intake form, the results and a therapist's public profile."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import Blueprint, render_template, request, url_for
from flask_babel import LazyString
from flask_babel import lazy_gettext as _l

from teletherapy.clock import utcnow
from teletherapy.domain.errors import ValidationError
from teletherapy.domain.vocabularies import SETTINGS
from teletherapy.services.matching import fee_bands, profiles
from teletherapy.services.matching import search as matching
from teletherapy.web.access import current_actor, public
from teletherapy.web.formatting import band_label, band_range
from teletherapy.web.forms import attach_errors, options
from teletherapy.web.matching.api import CRISIS_RESOURCES
from teletherapy.web.matching.forms import TIMES_OF_DAY, IntakeForm
from teletherapy.web.reads import reads_may_lag

bp = Blueprint("find", __name__)

FEW_RESULTS = 3
# Service field names -> the form field that shows the message.
_FIELD_FOR = {
    "languages": "languages",
    "cultural_backgrounds": "cultures",
    "household_income_cents": "household_income",
    "preferred_times": "times",
    "time_zone": "state",
}


def _client_id() -> int | None:
    actor = current_actor()
    return actor.id if actor is not None and actor.role == "client" else None


def _band_choices(form: IntakeForm) -> None:
    bands = fee_bands.list_fee_bands()
    form.fee_band.choices = options(
        [("", _l("Work it out from my household income"))]
        + [
            (
                b.code,
                _l(
                    "%(band)s: %(range)s a session",
                    band=LazyString(band_label, b.label),
                    range=LazyString(band_range, b),
                ),
            )
            for b in bands
        ]
    )


def payload_from_form(form: IntakeForm) -> dict[str, Any]:
    """The same request the API takes (DESIGN.md), from the form's fields."""
    payload: dict[str, Any] = {
        "setting": form.setting.data,
        "state": form.state.data or "",
        "zip": form.zip.data or None,
        "languages": [
            {"code": row.code.data, "required": row.need.data == "required"}
            for row in form.languages
            if row.code.data
        ],
        "modalities": [m for m in form.modalities.data or [] if m != "not_sure"],
        "concerns": list(form.concerns.data or []),
        "cultural_backgrounds": [
            {"code": row.code.data, "weight": int(row.weight.data or 1)}
            for row in form.cultures
            if row.code.data
        ],
        "faith_integrated": int(form.faith_integrated.data or 0),
        "lgbtq_affirming": int(form.lgbtq_affirming.data or 0),
        "age_group": form.age_group.data or None,
    }
    if form.max_distance_km.data is not None:
        payload["max_distance_km"] = float(form.max_distance_km.data)
    if form.gender.data:
        payload["gender"] = {"code": form.gender.data, "weight": int(form.gender_weight.data)}
    if form.fee_band.data:
        payload["fee_band"] = form.fee_band.data
    elif form.household_income.data is not None or form.household_size.data is not None:
        income = form.household_income.data
        payload["household_income_cents"] = int(income * 100) if income is not None else None
        payload["household_size"] = form.household_size.data
    payload["preferred_times"] = [
        {"weekday": int(day), "start": TIMES_OF_DAY[t][0], "end": TIMES_OF_DAY[t][1]}
        for day in form.days.data or []
        for t in form.times.data or []
        if t in TIMES_OF_DAY
    ]
    return payload


def form_data_from_intake(intake: dict[str, Any]) -> dict[str, Any]:
    """Prefill the form from a saved search (the reverse of payload_from_form)."""
    languages = [
        {"code": w.get("code", ""), "need": "required" if w.get("required") else "preferred"}
        for w in intake.get("languages") or []
    ]
    cultures = [
        {"code": p.get("code", ""), "weight": str(p.get("weight", 1))}
        for p in intake.get("cultural_backgrounds") or []
    ]
    windows = intake.get("preferred_times") or []
    times = {
        key
        for key, (start, end, _) in TIMES_OF_DAY.items()
        for w in windows
        if w.get("start") == start and w.get("end") == end
    }
    gender = intake.get("gender") or {}
    income = intake.get("household_income_cents")
    data: dict[str, Any] = {
        "setting": intake.get("setting", "online"),
        "state": intake.get("state", ""),
        "zip": intake.get("zip") or "",
        "languages": (languages + [{}] * 3)[:3],
        "cultures": (cultures + [{}] * 2)[:2],
        "modalities": intake.get("modalities") or ["not_sure"],
        "concerns": intake.get("concerns") or [],
        "gender": gender.get("code", ""),
        "gender_weight": str(gender.get("weight", 1)),
        "faith_integrated": str(intake.get("faith_integrated", 0)),
        "lgbtq_affirming": str(intake.get("lgbtq_affirming", 0)),
        "age_group": intake.get("age_group") or "",
        "fee_band": intake.get("fee_band") or "",
        "household_income": Decimal(income) / 100 if income is not None else None,
        "household_size": intake.get("household_size"),
        "days": sorted({str(w.get("weekday")) for w in windows}),
        "times": sorted(times),
    }
    if intake.get("max_distance_km") is not None:
        data["max_distance_km"] = Decimal(str(intake["max_distance_km"]))
    return data


@bp.route("/find", methods=["GET", "POST"])
@public
@reads_may_lag
def intake() -> Any:
    """The intake form; on submit, the results (anonymous searches are not saved)."""
    client_id = _client_id()
    saved = matching.get_saved_intake(client_id=client_id) if client_id is not None else None
    actor = current_actor()
    form = IntakeForm()
    _band_choices(form)
    if not form.is_submitted():
        if saved:
            form.process(data=form_data_from_intake(saved))
        elif actor is not None:
            form.process(data={"state": actor.state or "", "zip": actor.zip or ""})
        _band_choices(form)
        if saved is None:
            form.modalities.data = ["not_sure"]
    search = None
    if form.is_submitted() and not form.state.data:
        form.validate()
        form.state.errors = [*form.state.errors, "Choose your state."]
    elif form.validate_on_submit():
        try:
            search = matching.find_matches(
                request_payload=payload_from_form(form), client_id=client_id, now=utcnow()
            )
        except ValidationError as exc:
            attach_errors(form, exc, field_for=_FIELD_FOR, fallback=form.setting)
    status = 422 if form.errors else 200
    return render_template(
        "find/intake.html",
        form=form,
        search=search,
        few=FEW_RESULTS,
        crisis=CRISIS_RESOURCES,
        describe=matching.describe_filter,
        saved=saved is not None,
    ), status


def _searched_setting() -> str | None:
    """The setting the client searched for (?setting=, else their saved search): the slot
    picker opens on it."""
    setting = request.args.get("setting")
    if setting is None and (client_id := _client_id()) is not None:
        setting = (matching.get_saved_intake(client_id=client_id) or {}).get("setting")
    return setting if setting in SETTINGS else None


@bp.get("/therapists/<int:therapist_id>")
@public
@reads_may_lag
def therapist(therapist_id: int) -> Any:
    """A verified therapist's public profile, with the link to book a time."""
    client_id = _client_id()
    band_code = matching.find_client_band(client_id=client_id) if client_id is not None else None
    shape = profiles.get_public_therapist(therapist_id, band_code=band_code)
    bands = {b.code: b for b in fee_bands.list_fee_bands()}
    return render_template(
        "find/therapist.html",
        t=shape,
        bands=bands,
        own_band=bands.get(band_code) if band_code else None,
        book_url=url_for("sessions.book", therapist_id=therapist_id, setting=_searched_setting()),
    )
