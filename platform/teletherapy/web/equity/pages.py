"""Pages: /admin/equity (administrators; everyone else 404) and a therapist's own numbers."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Blueprint, Response, render_template, request

from teletherapy.clock import utcnow
from teletherapy.domain import vocabularies as v
from teletherapy.domain.errors import NotFoundError, ValidationError
from teletherapy.services.equity import metrics
from teletherapy.services.matching.fee_bands import list_fee_bands
from teletherapy.web.access import current_actor, public, require_actor, roles
from teletherapy.web.equity import presenting

bp = Blueprint("equity", __name__)
FILTERS = ("fee_band", "setting", "language", "state")


def require_admin() -> None:
    """Administrators only; to anyone else the page does not exist."""
    actor = current_actor()
    if actor is None or actor.role != "admin":
        raise NotFoundError("Not found.")


def read_report() -> tuple[metrics.EquityReport | None, dict[str, list[str]], dict[str, str]]:
    """The report for the query string, or the field errors (and the form's values)."""
    values = {name: request.args.get(name, "") for name in ("from", "to", *FILTERS)}
    try:
        start, end, chosen = metrics.parse_request(
            date_from=values["from"] or None,
            date_to=values["to"] or None,
            filters={name: values[name] for name in FILTERS},
            today=utcnow().date(),
        )
    except ValidationError as exc:
        return None, {k: list(m) for k, m in exc.errors.items()}, values
    values |= {"from": start.isoformat(), "to": end.isoformat()}
    report = metrics.equity_report(date_from=start, date_to=end, filters=chosen, now=utcnow())
    return report, {}, values


@bp.get("/admin/equity")
@public
def dashboard() -> Any:
    require_admin()
    report, errors, values = read_report()
    bands = {b.code: b.range_text for b in list_fee_bands()}
    status = 422 if errors else 200
    return render_template(
        "equity/dashboard.html",
        report=report,
        errors=errors,
        values=values,
        sections=presenting.sections(report, bands) if report else [],
        metric_labels=presenting.METRIC_LABELS,
        recruiting_label=lambda need: presenting.recruiting_label(need, bands),
        filter_label=presenting.filter_label,
        options={
            "fee_band": [
                (b.code, f"Band {b.code.upper()} ({b.range_text})") for b in list_fee_bands()
            ],
            "setting": list(v.SETTINGS.items()),
            "language": list(v.LANGUAGES.items()),
            "state": list(v.US_STATES.items()),
        },
        csv_query=request.query_string.decode(),
    ), status


@bp.get("/admin/equity.csv")
@public
def dashboard_csv() -> Any:
    require_admin()
    report, errors, _ = read_report()
    if report is None:
        raise ValidationError("Some filters need attention.", errors=errors)
    bands = {b.code: b.range_text for b in list_fee_bands()}
    name = f"equity-{report.date_from.isoformat()}-{report.date_to.isoformat()}.csv"
    return Response(
        presenting.as_csv(report, bands),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@bp.get("/practice/equity")
@roles("therapist")
def therapist_view() -> Any:
    actor = require_actor()
    if actor.therapist_id is None:
        raise NotFoundError("No therapist profile.")
    today = utcnow().date()
    start = today - timedelta(days=89)
    mine = metrics.therapist_equity(
        therapist_id=actor.therapist_id, date_from=start, date_to=today, now=utcnow()
    )
    return render_template("equity/therapist.html", mine=mine, start=start, end=today)
