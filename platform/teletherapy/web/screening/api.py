"""API: submit a questionnaire, list a client's results, export them as FHIR R4."""

from __future__ import annotations

import json
from typing import Any

from flask import Response
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from teletherapy.clock import utcnow
from teletherapy.domain import screening as scoring
from teletherapy.services.screening import Screening, fhir, queries, submit
from teletherapy.web.access import require_actor, roles
from teletherapy.web.schemas import BEARER
from teletherapy.web.validators import StrictBoolean

bp = Blueprint("api_screening", __name__, description="Screening questionnaires (PHQ-9, GAD-7)")
BLUEPRINTS = [bp]
FHIR_DOC = {
    "description": "A FHIR R4 resource (JSON).",
    "content": {"application/fhir+json": {"schema": {"type": "object"}}},
}


class UtcDateTime(fields.DateTime):
    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else fhir.instant(value)


class ScreeningRequestSchema(Schema):
    instrument = fields.String(required=True, validate=validate.OneOf(scoring.INSTRUMENT_CODES))
    answers = fields.List(
        fields.Raw(allow_none=True),
        required=True,
        metadata={"description": "Item scores 0..3 in item order (9 for phq9, 7 for gad7)."},
    )
    difficulty = fields.Raw(
        allow_none=True,
        load_default=None,
        metadata={"description": "The functional-difficulty question 0..3 (recorded, not scored)."},
    )
    language = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.OneOf(scoring.LANGUAGES),
        metadata={"description": "The language the questions were shown in (default: yours)."},
    )
    is_intake = StrictBoolean(load_default=False)


class ScreeningCrisisLineSchema(Schema):
    code = fields.String()
    name = fields.String()
    contact = fields.String()
    how = fields.String()


class ScreeningSchema(Schema):
    id = fields.Integer()
    client_id = fields.Integer()
    instrument = fields.String()
    answers = fields.List(fields.Integer())
    difficulty = fields.Integer(allow_none=True)
    total = fields.Integer()
    severity = fields.String(metadata={"description": "minimal, mild, moderate, "
                                       "moderately_severe (PHQ-9 only) or severe."})  # fmt: skip
    language = fields.String()
    is_intake = fields.Boolean()
    completed_at = UtcDateTime()
    flags = fields.List(fields.String(), metadata={"description": '["self_harm_item"] or [].'})
    crisis_resources = fields.List(fields.Nested(ScreeningCrisisLineSchema))


class ScreeningListQuerySchema(Schema):
    client_id = fields.Integer(required=True)


class ScreeningListSchema(Schema):
    screenings = fields.List(fields.Nested(ScreeningSchema))


def payload(row: Screening, *, flags: tuple[str, ...], language: str) -> dict[str, Any]:
    return {
        "id": row.id,
        "client_id": row.client_id,
        "instrument": row.instrument,
        "answers": row.answers,
        "difficulty": row.difficulty,
        "total": row.total,
        "severity": row.severity,
        "language": row.language,
        "is_intake": row.is_intake,
        "completed_at": row.completed_at,
        "flags": list(flags),
        "crisis_resources": scoring.crisis_resources(language),
    }


@bp.route("/screenings", methods=["POST"])
@roles("client")
@bp.arguments(ScreeningRequestSchema)
@bp.response(201, ScreeningSchema)
@bp.doc(security=BEARER)
def post_screening(body: dict[str, Any]) -> dict[str, Any]:
    """Answer a questionnaire (clients). A PHQ-9 item 9 above 0 flags `self_harm_item`.

    The crisis lines are always part of the answer; a flagged answer also alerts the
    client's therapist (or the practice's admins) without any clinical detail.
    """
    actor = require_actor()
    result = submit.submit_screening(client_id=actor.id, now=utcnow(), **body)
    return payload(result.screening, flags=result.flags, language=result.screening.language)


@bp.route("/screenings", methods=["GET"])
@roles()
@bp.arguments(ScreeningListQuerySchema, location="query")
@bp.response(200, ScreeningListSchema)
@bp.doc(security=BEARER)
def list_screenings(query: dict[str, Any]) -> dict[str, Any]:
    """A client's results, oldest first: the client, or a therapist who treats them (else 404)."""
    actor = require_actor()
    rows = queries.list_screenings(actor_id=actor.id, client_id=query["client_id"], now=utcnow())
    return {
        "screenings": [payload(r, flags=queries.flags_of(r), language=actor.language) for r in rows]
    }


def _fhir(document: dict[str, Any]) -> Response:
    return Response(json.dumps(document), mimetype=fhir.FHIR_MIMETYPE)


@bp.route("/screenings/<int:screening_id>/fhir", methods=["GET"])
@roles()
@bp.doc(security=BEARER, responses={"200": FHIR_DOC})
def get_screening_fhir(screening_id: int) -> Response:
    """One result as a FHIR R4 QuestionnaireResponse (LOINC-coded items and answers)."""
    actor = require_actor()
    return _fhir(
        fhir.export_questionnaire_response(
            actor_id=actor.id, screening_id=screening_id, now=utcnow()
        )
    )


@bp.route("/clients/<int:client_id>/observations/fhir", methods=["GET"])
@roles()
@bp.doc(security=BEARER, responses={"200": FHIR_DOC})
def get_observations_fhir(client_id: int) -> Response:
    """A FHIR R4 Bundle of Observations: every total, LOINC 44261-6 (PHQ-9) or 70274-6 (GAD-7)."""
    actor = require_actor()
    return _fhir(fhir.export_observations(actor_id=actor.id, client_id=client_id, now=utcnow()))
