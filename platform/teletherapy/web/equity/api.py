"""API: GET /api/v1/admin/equity (administrators; everyone else 404), the page's cells."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from marshmallow import Schema, fields

from teletherapy.clock import utcnow
from teletherapy.services.equity import metrics
from teletherapy.web.access import public
from teletherapy.web.equity.presenting import payload
from teletherapy.web.equity.reading import require_admin
from teletherapy.web.schemas import BEARER

bp = Blueprint("api_equity", __name__, description="Access equity (administrators only)")
BLUEPRINTS = [bp]


class EquityQuerySchema(Schema):
    date_from = fields.String(data_key="from", metadata={"description": "YYYY-MM-DD"})
    date_to = fields.String(data_key="to", metadata={"description": "YYYY-MM-DD"})
    fee_band = fields.String(metadata={"description": "A fee band code; filters combine"})
    setting = fields.String(metadata={"description": "online, in_office or home"})
    language = fields.String(metadata={"description": "ISO 639-1 code"})
    state = fields.String(metadata={"description": "USPS code"})


class EquityCellSchema(Schema):
    metric = fields.String(
        required=True,
        metadata={
            "description": (
                "searches, searches_no_match, no_match_share, first_searches, "
                "hours_to_first_session_median, hours_to_first_session_p75, "
                "booked_within_14_days_share, therapists_offering_reduced_fees, "
                "reduced_fee_places_offered, reduced_fee_places_used, "
                "reduced_fee_places_used_share, therapists_at_cap, sessions, "
                "late_cancellations, no_shows, fees_waived, language_concordance_share, "
                "cultural_concordance_share, clients_starting_care, second_session_share, "
                "fifth_session_share, clients_with_outcomes (clients whose latest PHQ-9 or "
                "GAD-7 in the range follows an earlier one), reliable_improvement_share and "
                "reliable_deterioration_share (first against latest screening, NHS Talking "
                "Therapies reliable-change thresholds)"
            )
        },
    )
    group = fields.Dict(keys=fields.String(), values=fields.String(), required=True)
    value = fields.Float(allow_none=True, required=True)
    suppressed = fields.Boolean(
        required=True, metadata={"description": "True when drawn from fewer than 11 people"}
    )


class RecruitingNeedSchema(Schema):
    state = fields.String()
    setting = fields.String()
    language = fields.String(metadata={"description": '"" when no language was required'})
    searches = fields.Integer()
    most_removed_by = fields.String(allow_none=True)


class EquitySchema(Schema):
    date_from = fields.String(data_key="from")
    date_to = fields.String(data_key="to")
    filters = fields.Dict(keys=fields.String(), values=fields.String())
    suppress_below = fields.Integer()
    cells = fields.List(fields.Nested(EquityCellSchema))
    recruiting = fields.List(fields.Nested(RecruitingNeedSchema))


@bp.route("/admin/equity", methods=["GET"])
@bp.arguments(EquityQuerySchema, location="query")
@bp.response(200, EquitySchema)
@bp.doc(security=BEARER)
@public
def get_equity(query: dict[str, Any]) -> dict[str, Any]:
    """Access-equity cells for a date range (default: the last 90 days).

    Filters on band, setting, language and state combine; every cell is protected so
    that no combination of answers recovers a cell drawn from fewer than 11 people."""
    require_admin()
    start, end, chosen = metrics.parse_request(
        date_from=query.get("date_from"),
        date_to=query.get("date_to"),
        filters={k: query.get(k) for k in ("fee_band", "setting", "language", "state")},
        today=utcnow().date(),
    )
    report = metrics.equity_report(date_from=start, date_to=end, filters=chosen, now=utcnow())
    answer = payload(report)
    answer["date_from"], answer["date_to"] = answer.pop("from"), answer.pop("to")
    return answer
