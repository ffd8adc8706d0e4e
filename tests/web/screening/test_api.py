"""Screening API: 201 / 422 / 404, FHIR documents, OpenAPI, and who may see what."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient

from teletherapy.services.audit import list_events
from tests.booking_rows import add_booking


@pytest.fixture
def people(make_user: Any, db: Any, now: Any) -> dict[str, Any]:
    client = make_user("client", language="es")
    therapist = make_user("therapist")
    add_booking(db, therapist, client, now - timedelta(days=7), status="completed")
    return {
        "client": client,
        "therapist": therapist,
        "other_therapist": make_user("therapist"),
        "other_client": make_user("client"),
    }


def test_post_screening_is_201_with_the_contract_shape(
    client: FlaskClient, people: Any, api_token: Any
) -> None:
    response = client.post(
        "/api/v1/screenings",
        headers=api_token(people["client"]),
        json={"instrument": "phq9", "answers": [0, 1, 2, 0, 0, 1, 0, 0, 0]},
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    assert body["instrument"] == "phq9" and body["total"] == 4 and body["severity"] == "minimal"
    assert body["flags"] == [] and body["completed_at"].endswith("Z")
    assert [r["contact"] for r in body["crisis_resources"]] == ["988", "911", "1-800-662-4357"]
    assert body["language"] == "es" and "español" in body["crisis_resources"][0]["how"]


def test_item_9_flags_self_harm_in_the_answer(
    client: FlaskClient, people: Any, api_token: Any
) -> None:
    response = client.post(
        "/api/v1/screenings",
        headers=api_token(people["client"]),
        json={"instrument": "phq9", "answers": [0] * 8 + [2], "language": "en"},
    )
    assert response.status_code == 201
    assert response.get_json()["flags"] == ["self_harm_item"]
    assert "Call or text 988" in response.get_json()["crisis_resources"][0]["how"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"instrument": "phq9", "answers": [0] * 8}, "answers"),
        ({"instrument": "phq9", "answers": [0, 0, 0, 4, 0, 0, 0, 0, 0]}, "answers[3]"),
        ({"instrument": "gad7", "answers": [0, None, 0, 0, 0, 0, 0]}, "answers[1]"),
        ({"instrument": "gad7", "answers": [0, 0, 0, 0, 0, 0, "x"]}, "answers[6]"),
        ({"instrument": "gad7", "answers": [0] * 7, "difficulty": 5}, "difficulty"),
        ({"instrument": "bdi2", "answers": [0] * 7}, "instrument"),
        ({"answers": [0] * 7}, "instrument"),
    ],
)
def test_bad_answers_are_422_problem_json_naming_the_item(
    client: FlaskClient, people: Any, api_token: Any, body: dict[str, Any], field: str
) -> None:
    headers = api_token(people["client"])
    response = client.post("/api/v1/screenings", headers=headers, json=body)
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert field in response.get_json()["errors"]
    listed = client.get(f"/api/v1/screenings?client_id={people['client'].id}", headers=headers)
    assert listed.get_json()["screenings"] == []


def test_therapists_cannot_post_answers(client: FlaskClient, people: Any, api_token: Any) -> None:
    response = client.post(
        "/api/v1/screenings",
        headers=api_token(people["therapist"]),
        json={"instrument": "gad7", "answers": [0] * 7},
    )
    assert response.status_code == 403


def test_list_and_fhir_for_the_client_and_the_treating_therapist(
    client: FlaskClient, people: Any, api_token: Any
) -> None:
    from fhir.resources.R4B.bundle import Bundle
    from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

    own = api_token(people["client"])
    created = client.post(
        "/api/v1/screenings", headers=own, json={"instrument": "gad7", "answers": [1] * 7}
    ).get_json()
    client_id = people["client"].id
    for headers in (own, api_token(people["therapist"])):
        listed = client.get(f"/api/v1/screenings?client_id={client_id}", headers=headers)
        assert [s["id"] for s in listed.get_json()["screenings"]] == [created["id"]]
        document = client.get(f"/api/v1/screenings/{created['id']}/fhir", headers=headers)
        assert document.status_code == 200 and document.mimetype == "application/fhir+json"
        QuestionnaireResponse.model_validate(document.get_json())
        bundle = client.get(f"/api/v1/clients/{client_id}/observations/fhir", headers=headers)
        assert bundle.mimetype == "application/fhir+json"
        parsed = Bundle.model_validate(bundle.get_json())
        assert parsed.entry[0].resource.code.coding[0].code == "70274-6"


def test_another_therapist_and_another_client_get_404(
    client: FlaskClient, people: Any, api_token: Any
) -> None:
    created = client.post(
        "/api/v1/screenings",
        headers=api_token(people["client"]),
        json={"instrument": "gad7", "answers": [1] * 7},
    ).get_json()
    client_id = people["client"].id
    for who in ("other_therapist", "other_client"):
        headers = api_token(people[who])
        for path in (
            f"/api/v1/screenings?client_id={client_id}",
            f"/api/v1/screenings/{created['id']}/fhir",
            f"/api/v1/clients/{client_id}/observations/fhir",
        ):
            response = client.get(path, headers=headers)
            assert response.status_code == 404, path
            assert response.mimetype == "application/problem+json"
    assert client.get(f"/api/v1/screenings?client_id={client_id}").status_code == 401


def test_every_view_and_export_is_audited(client: FlaskClient, people: Any, api_token: Any) -> None:
    therapist = api_token(people["therapist"])
    created = client.post(
        "/api/v1/screenings",
        headers=api_token(people["client"]),
        json={"instrument": "gad7", "answers": [1] * 7},
    ).get_json()
    client_id = people["client"].id
    client.get(f"/api/v1/screenings?client_id={client_id}", headers=therapist)
    client.get(f"/api/v1/screenings/{created['id']}/fhir", headers=therapist)
    client.get(f"/api/v1/clients/{client_id}/observations/fhir", headers=therapist)
    client.get(
        f"/api/v1/screenings?client_id={client_id}", headers=api_token(people["other_therapist"])
    )
    events = [
        (e.actor_user_id, e.action, e.resource_id) for e in list_events(subject_user_id=client_id)
    ]
    therapist_id = people["therapist"].id
    assert list(reversed(events)) == [
        (client_id, "screening.submit", str(created["id"])),
        (therapist_id, "screening.list", None),
        (therapist_id, "screening.export_fhir", str(created["id"])),
        (therapist_id, "screening.export_observations", None),
    ]


def test_screening_routes_are_in_the_openapi_document(client: FlaskClient) -> None:
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert {"post", "get"} <= set(paths["/api/v1/screenings"])
    assert "application/fhir+json" in str(paths["/api/v1/screenings/{screening_id}/fhir"])
    assert "/api/v1/clients/{client_id}/observations/fhir" in paths


def test_the_422_names_the_item_in_the_person_s_language(
    client: FlaskClient, people: Any, api_token: Any
) -> None:
    body = {"instrument": "gad7", "answers": [0, None, 0, 0, 0, 0, 0]}
    spanish = client.post("/api/v1/screenings", headers=api_token(people["client"]), json=body)
    assert spanish.get_json()["errors"]["answers[1]"] == ["La pregunta 2 no tiene respuesta."]
    assert spanish.get_json()["detail"] == "Faltan algunas respuestas del GAD-7 o no son válidas."
    english = client.post(
        "/api/v1/screenings",
        headers={**api_token(people["other_client"]), "Accept-Language": "en"},
        json=body,
    )
    assert english.get_json()["errors"]["answers[1]"] == ["Item 2 has no answer."]
