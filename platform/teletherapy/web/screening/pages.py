"""Screening pages: intake and consent, questionnaire, results, charts, caseload, alerts."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response as BaseResponse

from teletherapy.clock import utcnow
from teletherapy.domain import screening as scoring
from teletherapy.domain.errors import ValidationError
from teletherapy.services.screening import alerts, cadence, fhir, queries, submit
from teletherapy.web.access import current_actor, require_actor, roles
from teletherapy.web.screening.chart import build_chart

bp = Blueprint("screening", __name__, url_prefix="/screening")
CHECK_IN_ORDER = ("phq9", "gad7")
# Codes of the instruments' data shown to people: their labels, translated when shown.
SEVERITY_LABELS = {
    "minimal": _l("minimal"),
    "mild": _l("mild"),
    "moderate": _l("moderate"),
    "moderately_severe": _l("moderately severe"),
    "severe": _l("severe"),
}
CHANGE_LABELS = {
    "reliable_recovery": _l("reliable recovery"),
    "recovery": _l("recovery"),
    "reliable_improvement": _l("reliable improvement"),
    "reliable_deterioration": _l("reliable deterioration"),
    "no_reliable_change": _l("no reliable change"),
    "self_harm_item": _l("self-harm question above 0"),
}
CADENCE_LABELS = {
    "every_session": _l("Every session"),
    "every_other": _l("Every other session"),
    "monthly": _l("Monthly"),
    "off": _l("Off"),
}


@bp.app_template_global()
def screening_label(code: str) -> str:
    """The translated label of a severity, change, flag or cadence code (else the code)."""
    for labels in (SEVERITY_LABELS, CHANGE_LABELS, CADENCE_LABELS):
        if code in labels:
            return str(labels[code])
    return code.replace("_", " ")


def _language(person: Any) -> str:
    return person.language if person.language in scoring.LANGUAGES else "en"


def _ui_language() -> str:
    locale = get_locale()
    return str(locale) if locale is not None else "en"


def _next_instrument(current: str) -> str | None:
    order = list(CHECK_IN_ORDER)
    index = order.index(current)
    return order[index + 1] if index + 1 < len(order) else None


@bp.app_context_processor
def inject_alert_count() -> dict[str, Any]:
    def screening_alert_count() -> int:
        actor = current_actor()
        return alerts.count_open_alerts(actor_id=actor.id) if actor is not None else 0

    return {"screening_alert_count": screening_alert_count}


# --------------------------------------------------------------------------- clients


@bp.route("/intake", methods=["GET", "POST"])
@roles("client")
def intake() -> Any:
    """Optional: what the questionnaires are for and who sees them; records the choice."""
    actor = require_actor()
    error = None
    if request.method == "POST":
        choice = request.form.get("consent")
        if choice in ("yes", "no"):
            submit.record_consent(
                client_id=actor.id,
                is_given=choice == "yes",
                language=_language(actor),
                now=utcnow(),
            )
            if choice == "yes":
                return redirect(url_for(".answer", instrument=CHECK_IN_ORDER[0], intake=1))
            flash(_("No questionnaires. You can change your mind at any time."), "info")
            return redirect(url_for("sessions.my_sessions"))
        error = _("Choose yes or no.")
    return render_template("screening/intake.html", error=error), (422 if error else 200)


@bp.route("/check-in", methods=["GET"])
@roles("client")
def check_in() -> BaseResponse:
    """The link in a session reminder: the questionnaires, one after the other."""
    return redirect(url_for(".answer", instrument=CHECK_IN_ORDER[0]))


@bp.route("/answer/<instrument>", methods=["GET", "POST"])
@roles("client")
def answer(instrument: str) -> Any:
    actor = require_actor()
    if instrument not in scoring.INSTRUMENT_CODES:
        abort(404)
    spec = scoring.get_instrument(instrument)
    language = _language(actor)
    is_intake = request.values.get("intake") == "1"
    values: dict[str, str] = {}
    errors: dict[int, str] = {}
    difficulty_error = None
    if request.method == "POST":
        values = {k: v for k, v in request.form.items() if k.startswith("item_")}
        answers = [_int_or_none(request.form.get(f"item_{i.number}")) for i in spec.items]
        difficulty = _int_or_none(request.form.get("difficulty"))
        values["difficulty"] = request.form.get("difficulty", "")
        try:
            result = submit.submit_screening(
                client_id=actor.id,
                instrument=spec.code,
                answers=answers,
                difficulty=difficulty,
                language=language,
                is_intake=is_intake,
                now=utcnow(),
            )
        except ValidationError as exc:
            for key in exc.errors:
                # The domain's messages name codes and values; the page says what to do.
                if key.startswith("answers["):
                    number = int(key[8:-1]) + 1
                    errors[number] = _("Choose an answer to question %(number)d.", number=number)
                elif key == "difficulty":
                    difficulty_error = _("Choose one of the answers, or none.")
        else:
            return redirect(
                url_for(
                    ".result", screening_id=result.screening.id, intake=1 if is_intake else None
                )
            )
    return (
        render_template(
            "screening/answer.html",
            spec=spec,
            language=language,
            values=values,
            errors=errors,
            difficulty_error=difficulty_error,
            is_intake=is_intake,
        ),
        422 if errors or difficulty_error else 200,
    )


def _int_or_none(value: str | None) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        return -1  # refused by the domain with the item named


@bp.route("/results/<int:screening_id>", methods=["GET"])
@roles("client")
def result(screening_id: int) -> str:
    actor = require_actor()
    row = queries.get_screening(actor_id=actor.id, screening_id=screening_id, now=utcnow())
    if row.client_id != actor.id:
        abort(404)
    spec = scoring.get_instrument(row.instrument)
    flags = queries.flags_of(row)
    return render_template(
        "screening/result.html",
        row=row,
        spec=spec,
        has_self_harm_flag=scoring.SELF_HARM_FLAG in flags,
        crisis=scoring.crisis_resources(_language(actor)),
        next_instrument=_next_instrument(row.instrument),
        is_intake=request.args.get("intake") == "1",
    )


@bp.route("/history", methods=["GET"])
@roles("client")
def history() -> str:
    actor = require_actor()
    now = utcnow()
    trend = queries.client_trend(actor_id=actor.id, client_id=actor.id, now=now)
    charts = [
        (s, build_chart(s, trend.sessions, now=now, language=_ui_language())) for s in trend.series
    ]
    return render_template("screening/history.html", trend=trend, charts=charts, own=True)


@bp.route("/download", methods=["GET"])
@roles("client")
def download() -> Response:
    """All of the client's own results as one FHIR R4 Bundle (JSON file)."""
    actor = require_actor()
    document = fhir.download_own_results(client_id=actor.id, now=utcnow())
    response = Response(json.dumps(document, indent=2), mimetype=fhir.FHIR_MIMETYPE)
    response.headers["Content-Disposition"] = 'attachment; filename="my-questionnaires.json"'
    return response


# --------------------------------------------------------------------------- therapists


@bp.route("/clients/<int:client_id>", methods=["GET"])
@roles("therapist")
def client_chart(client_id: int) -> str:
    actor = require_actor()
    now = utcnow()
    trend = queries.client_trend(actor_id=actor.id, client_id=client_id, now=now)
    charts = [
        (s, build_chart(s, trend.sessions, now=now, language=_ui_language())) for s in trend.series
    ]
    current = cadence.get_cadence(therapist_id=actor.therapist_id or 0, client_id=client_id)
    return render_template(
        "screening/history.html",
        trend=trend,
        charts=charts,
        own=False,
        cadence=current,
        cadences=cadence.CADENCES,
    )


@bp.route("/clients/<int:client_id>/cadence", methods=["POST"])
@roles("therapist")
def set_cadence(client_id: int) -> BaseResponse:
    actor = require_actor()
    try:
        cadence.set_cadence(
            therapist_user_id=actor.id,
            client_id=client_id,
            cadence=request.form.get("cadence", ""),
            now=utcnow(),
        )
    except ValidationError:
        flash(_("Choose how often to ask."), "error")
    else:
        flash(_("Saved."), "success")
    return redirect(url_for(".client_chart", client_id=client_id))


@bp.route("/caseload", methods=["GET"])
@roles("therapist")
def caseload() -> str:
    actor = require_actor()
    sort = request.args.get("sort", "not_improving")
    sort = sort if sort in ("not_improving", "name") else "not_improving"
    rows = queries.caseload(therapist_user_id=actor.id, now=utcnow(), sort=sort)
    return render_template("screening/caseload.html", rows=rows, sort=sort)


@bp.route("/alerts", methods=["GET"])
@roles("therapist", "admin")
def alert_list() -> str:
    actor = require_actor()
    return render_template("screening/alerts.html", alerts=alerts.list_alerts(actor_id=actor.id))


@bp.route("/alerts/<int:alert_id>/acknowledge", methods=["POST"])
@roles("therapist", "admin")
def acknowledge(alert_id: int) -> BaseResponse:
    actor = require_actor()
    alerts.acknowledge_alert(actor_id=actor.id, alert_id=alert_id, now=utcnow())
    flash(_("Acknowledged."), "success")
    return redirect(url_for(".alert_list"))
