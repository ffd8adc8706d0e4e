"""/admin/equity and its CSV: the access-equity view (administrators; everyone else 404)."""

from __future__ import annotations

from typing import Any

from flask import Response, render_template, request

from teletherapy.domain.errors import ValidationError
from teletherapy.services.matching.fee_bands import list_fee_bands
from teletherapy.web.access import public
from teletherapy.web.equity import presenting
from teletherapy.web.equity.reading import read_report, require_admin


@public
def equity() -> Any:
    require_admin()
    report, errors, values = read_report()
    bands = {b.code: b.range_text for b in list_fee_bands()}
    return render_template(
        "equity/dashboard.html",
        report=report,
        errors=errors,
        values=values,
        sections=presenting.sections(report, bands) if report else [],
        metric_labels=presenting.METRIC_LABELS,
        recruiting_label=lambda need: presenting.recruiting_label(need, bands),
        filter_label=presenting.filter_label,
        options=presenting.options(bands),
        dimension_labels=presenting.DIMENSION_LABELS,
        code_label=lambda dimension, code: presenting.code_label(dimension, code, bands),
        csv_query=request.query_string.decode(),
    ), (422 if errors else 200)


@public
def equity_csv() -> Any:
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
