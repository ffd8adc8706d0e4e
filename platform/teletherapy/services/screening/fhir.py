"""FHIR R4 documents: a QuestionnaireResponse per result, a Bundle of LOINC-coded totals.

Building the documents is plain dict work; the export functions check access and write
the export to the audit log. Tests validate the output with `fhir.resources`.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from teletherapy.domain import screening as scoring
from teletherapy.extensions import db
from teletherapy.models import Screening
from teletherapy.services.screening.access import get_actor, require_client_access
from teletherapy.services.screening.queries import audit_view, get_screening, rows_of

LOINC = "http://loinc.org"
QUESTIONNAIRE_URL = "http://loinc.org/q/{panel}"
TOTAL_DISPLAY = {
    "phq9": "Patient Health Questionnaire 9 item (PHQ-9) total score [Reported]",
    "gad7": "Generalized anxiety disorder 7 item (GAD-7) total score [Reported.PHQ]",
}
_NAMESPACE = uuid.UUID("6f1f4d8e-6d2b-4d49-9a53-1f2a43c0e7a1")
FHIR_MIMETYPE = "application/fhir+json"


def instant(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _patient(client_id: int) -> dict[str, str]:
    return {"reference": f"Patient/{client_id}"}


def questionnaire_response(row: Screening) -> dict[str, Any]:
    spec = scoring.get_instrument(row.instrument)
    lang = row.language if row.language in scoring.LANGUAGES else "en"
    choices = {c.value: c for c in spec.choices}
    items: list[dict[str, Any]] = []
    for item, value in zip(spec.items, row.answers, strict=True):
        choice = choices[value]
        coding = {"system": LOINC, "code": choice.loinc, "display": choice.text[lang]}
        items.append(
            {
                "linkId": f"/{item.loinc}",
                "text": item.text[lang],
                "answer": [{"valueCoding": coding}],
            }
        )
    if row.difficulty is not None:
        difficulty = {c.value: c for c in spec.difficulty_choices}[row.difficulty]
        entry: dict[str, Any] = {
            "linkId": f"/{spec.difficulty_loinc}" if spec.difficulty_loinc else "difficulty",
            "text": spec.difficulty_text[lang],
            "answer": [{"valueString": difficulty.text[lang]}],
        }
        items.append(entry)
    items.append(
        {
            "linkId": f"/{spec.loinc_total}",
            "text": TOTAL_DISPLAY[spec.code],
            "answer": [{"valueInteger": row.total}],
        }
    )
    return {
        "resourceType": "QuestionnaireResponse",
        "id": str(row.id),
        "language": lang,
        "questionnaire": QUESTIONNAIRE_URL.format(panel=spec.loinc_panel),
        "status": "completed",
        "subject": _patient(row.client_id),
        "authored": instant(row.completed_at),
        "item": items,
    }


def total_observation(row: Screening) -> dict[str, Any]:
    spec = scoring.get_instrument(row.instrument)
    return {
        "resourceType": "Observation",
        "id": f"{row.id}-total",
        "status": "final",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": "survey",
                        "display": "Survey",
                    }
                ]
            }
        ],
        "code": {
            "coding": [
                {"system": LOINC, "code": spec.loinc_total, "display": TOTAL_DISPLAY[spec.code]}
            ],
            "text": f"{spec.name} total score",
        },
        "subject": _patient(row.client_id),
        "effectiveDateTime": instant(row.completed_at),
        "valueInteger": row.total,
        "interpretation": [{"text": row.severity}],
        "derivedFrom": [{"reference": f"QuestionnaireResponse/{row.id}"}],
    }


def bundle(resources: list[dict[str, Any]], *, now: datetime) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "timestamp": instant(now),
        "entry": [
            {
                "fullUrl": "urn:uuid:"
                + str(uuid.uuid5(_NAMESPACE, f"{r['resourceType']}/{r['id']}")),
                "resource": r,
            }
            for r in resources
        ],
    }


def export_questionnaire_response(
    *, actor_id: int, screening_id: int, now: datetime
) -> dict[str, Any]:
    row = get_screening(
        actor_id=actor_id, screening_id=screening_id, now=now, action="screening.export_fhir"
    )
    return questionnaire_response(row)


def export_observations(*, actor_id: int, client_id: int, now: datetime) -> dict[str, Any]:
    actor = get_actor(actor_id)
    require_client_access(actor, client_id)
    rows = rows_of(client_id)
    audit_view(actor, client_id, "screening.export_observations", None, now)
    db.session.commit()
    return bundle([total_observation(r) for r in rows], now=now)


def download_own_results(*, client_id: int, now: datetime) -> dict[str, Any]:
    """Everything a client answered: each QuestionnaireResponse and each total Observation."""
    actor = get_actor(client_id)
    require_client_access(actor, client_id)
    rows = rows_of(client_id)
    audit_view(actor, client_id, "screening.download", None, now)
    db.session.commit()
    resources: list[dict[str, Any]] = []
    for row in rows:
        resources.append(questionnaire_response(row))
        resources.append(total_observation(row))
    return bundle(resources, now=now)
