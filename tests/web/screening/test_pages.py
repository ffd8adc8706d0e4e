"""Screening pages: intake, the questionnaire (plain form), results, charts, caseload, alerts."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from teletherapy.models import OutboxMessage
from teletherapy.services.screening import submit
from tests.booking_rows import add_booking
from tests.conftest import PASSWORD


@pytest.fixture
def people(make_user: Any, db: Any, now: Any) -> dict[str, Any]:
    client = make_user("client", display_name="Rosa", language="es")
    therapist = make_user("therapist", display_name="Ana")
    add_booking(db, therapist, client, now - timedelta(days=7), status="completed")
    return {
        "client": client,
        "therapist": therapist,
        "other_therapist": make_user("therapist"),
        "admin": make_user("admin", display_name="Admin"),
    }


def sign_in(app: Flask, user: Any) -> FlaskClient:
    browser = app.test_client()
    response = browser.post("/sign-in", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 302
    return browser


def answers_form(values: list[int], **extra: str) -> dict[str, str]:
    return {**{f"item_{i + 1}": str(v) for i, v in enumerate(values)}, **extra}


def test_intake_explains_and_records_the_choice(app: Flask, people: Any) -> None:
    browser = sign_in(app, people["client"])
    page = browser.get("/screening/intake").get_data(as_text=True)
    assert "Quién ve sus respuestas" in page and "no son un diagnóstico" in page  # in Spanish
    assert browser.post("/screening/intake", data={}).status_code == 422
    declined = browser.post("/screening/intake", data={"consent": "no"})
    assert declined.status_code == 302
    assert not submit.has_consented(client_id=people["client"].id)
    agreed = browser.post("/screening/intake", data={"consent": "yes"})
    assert agreed.headers["Location"].endswith("/screening/answer/phq9?intake=1")
    assert submit.has_consented(client_id=people["client"].id)


def test_questionnaire_is_a_plain_accessible_form_in_the_clients_language(
    app: Flask, people: Any
) -> None:
    browser = sign_in(app, people["client"])
    assert browser.get("/screening/check-in").headers["Location"].endswith("/screening/answer/phq9")
    page = browser.get("/screening/answer/phq9").get_data(as_text=True)
    assert page.count("<fieldset") == 10 and page.count("<legend") == 10
    assert page.count('type="radio"') == 40
    assert "Poco interés o placer en hacer cosas" in page
    assert "Ningún día" in page and 'lang="es"' in page
    assert browser.get("/screening/answer/bdi").status_code == 404


def test_missing_answers_are_named_next_to_the_item_and_nothing_is_saved(
    app: Flask, people: Any, db: Any
) -> None:
    browser = sign_in(app, people["client"])
    form = answers_form([0, 1, 0, 0, 0, 0, 0, 0])  # no item 9
    form["item_4"] = "7"
    response = browser.post("/screening/answer/phq9", data=form)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="item-9-error"' in page and "Elija una respuesta para la pregunta 9." in page
    assert 'id="item-4-error"' in page and "Elija una respuesta para la pregunta 4." in page
    assert 'value="1"\n             checked' in page or re.search(r'value="1"\s+checked', page)
    bad_difficulty = browser.post(
        "/screening/answer/gad7", data=answers_form([0] * 7, difficulty="9")
    )
    assert bad_difficulty.status_code == 422
    assert 'href="#difficulty"' in bad_difficulty.get_data(as_text=True)
    assert (
        browser.post("/screening/answer/gad7", data=answers_form([0] * 6 + ["x"])).status_code
        == 422
    )  # type: ignore[list-item]
    history = browser.get("/screening/history").get_data(as_text=True)
    assert "Aún no hay resultados." in history


def test_results_lead_with_crisis_lines_when_item_9_is_above_zero(
    app: Flask, people: Any, db: Any
) -> None:
    browser = sign_in(app, people["client"])
    response = browser.post(
        "/screening/answer/phq9", data=answers_form([0] * 8 + [1], difficulty="1")
    )
    assert response.status_code == 302
    page = browser.get(response.headers["Location"]).get_data(as_text=True)
    main = page[page.index('<main id="main"') :]
    assert main.index("crisis-lead") < main.index("<h1>")
    assert "988" in main and "911" in main and "1-800-662-4357" in main
    assert "marque 2" in main  # Spanish available, told in the client's language
    assert "nunca hace diagnósticos" in main
    assert "/screening/answer/gad7" in main
    [message] = db.session.scalars(select(OutboxMessage)).all()
    assert message.to_address == people["therapist"].email


def test_a_calm_result_has_no_crisis_block_but_says_it_is_no_diagnosis(
    app: Flask, people: Any
) -> None:
    browser = sign_in(app, people["client"])
    response = browser.post("/screening/answer/gad7?intake=1", data=answers_form([1] * 7))
    assert "intake=1" in response.headers["Location"]
    page = browser.get(response.headers["Location"]).get_data(as_text=True)
    assert "crisis-lead" not in page and "nunca hace diagnósticos" in page
    assert "Ver mi historial" in page


def test_results_of_someone_else_are_404(app: Flask, people: Any, make_user: Any, now: Any) -> None:
    row = submit.submit_screening(
        client_id=people["client"].id, instrument="gad7", answers=[0] * 7, now=now
    ).screening
    stranger = sign_in(app, make_user("client"))
    assert stranger.get(f"/screening/results/{row.id}").status_code == 404
    therapist = sign_in(app, people["other_therapist"])
    assert therapist.get(f"/screening/clients/{people['client'].id}").status_code == 404
    assert therapist.get(f"/screening/results/{row.id}").status_code == 403


def test_history_chart_and_download(app: Flask, people: Any, now: Any) -> None:
    from fhir.resources.R4B.bundle import Bundle

    for weeks, answers in ((10, [2] * 7), (5, [1] * 7), (1, [0] * 7)):
        submit.submit_screening(
            client_id=people["client"].id, instrument="gad7", answers=answers,
            now=now - timedelta(weeks=weeks),
        )  # fmt: skip
    browser = sign_in(app, people["client"])
    page = browser.get("/screening/history").get_data(as_text=True)
    assert page.count("<svg") == 2 and 'role="img"' in page
    assert "<table" in page and "recuperación confiable" in page
    assert "stroke-dasharray" in page  # the session is marked
    download = browser.get("/screening/download")
    assert download.mimetype == "application/fhir+json"
    assert "attachment" in download.headers["Content-Disposition"]
    assert len(Bundle.model_validate(download.get_json()).entry) == 6


def test_therapist_chart_cadence_and_caseload(app: Flask, people: Any, now: Any) -> None:
    client_id = people["client"].id
    submit.submit_screening(
        client_id=client_id, instrument="phq9", answers=[2] * 9, now=now - timedelta(weeks=9)
    )
    submit.submit_screening(client_id=client_id, instrument="phq9", answers=[2] * 9, now=now)
    browser = sign_in(app, people["therapist"])
    page = browser.get(f"/screening/clients/{client_id}").get_data(as_text=True)
    assert "Rosa" in page and "Not improving after 8 weeks" in page
    assert 'name="cadence"' in page
    saved = browser.post(f"/screening/clients/{client_id}/cadence", data={"cadence": "monthly"})
    assert saved.status_code == 302
    assert "selected>Monthly" in browser.get(saved.headers["Location"]).get_data(as_text=True)
    browser.post(f"/screening/clients/{client_id}/cadence", data={"cadence": "hourly"})
    caseload = browser.get("/screening/caseload").get_data(as_text=True)
    assert "Rosa" in caseload and "<strong>Yes</strong>" in caseload
    assert browser.get("/screening/caseload?sort=name").status_code == 200
    assert browser.get("/screening/caseload?sort=bogus").status_code == 200


def test_alert_shows_on_the_dashboard_until_acknowledged(app: Flask, people: Any, now: Any) -> None:
    submit.submit_screening(
        client_id=people["client"].id, instrument="phq9", answers=[0] * 8 + [3], now=now
    )
    therapist = sign_in(app, people["therapist"])
    dashboard = therapist.get("/practice/").get_data(as_text=True)
    assert "1 questionnaire needs your attention." in dashboard
    alerts_page = therapist.get("/screening/alerts").get_data(as_text=True)
    alert_id = re.search(r"/screening/alerts/(\d+)/acknowledge", alerts_page).group(1)  # type: ignore[union-attr]
    assert therapist.post(f"/screening/alerts/{alert_id}/acknowledge").status_code == 302
    assert "need your attention" not in therapist.get("/practice/").get_data(as_text=True)
    assert "By Ana" in therapist.get("/screening/alerts").get_data(as_text=True)
    other = sign_in(app, people["other_therapist"])
    assert other.post(f"/screening/alerts/{alert_id}/acknowledge").status_code == 404
    assert "Nothing needs attention." in other.get("/screening/alerts").get_data(as_text=True)


def test_admins_see_alerts_of_clients_without_a_therapist(
    app: Flask, people: Any, make_user: Any, now: Any
) -> None:
    lonely = make_user("client", display_name="Lone")
    submit.submit_screening(client_id=lonely.id, instrument="phq9", answers=[0] * 8 + [1], now=now)
    admin = sign_in(app, people["admin"])
    assert "1 questionnaire needs your attention." in admin.get("/admin/").get_data(as_text=True)
    page = admin.get("/screening/alerts").get_data(as_text=True)
    assert "Lone" in page and "/screening/clients/" not in page
