"""No answers, totals or severity words leave through email or logs during screening flows.

Every outbox row (subject and both bodies), every message a dispatcher hands to the
mailer, and every log record of a full screening flow are captured and searched.
"""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from teletherapy.domain import screening as scoring
from teletherapy.gateways.mail import OutgoingMessage
from teletherapy.models import OutboxMessage
from teletherapy.services.messaging import notifications, outbox
from teletherapy.services.screening import alerts, cadence, fhir, queries, submit
from tests.booking_rows import add_booking
from tests.conftest import PASSWORD

SEVERITY_WORDS = re.compile(
    r"minimal|mild|moderate|severe|leve|moderad|grave|depress|anxiety|ansiedad|PHQ|GAD"
    r"|self.harm|suicid|item 9|score|total|puntuaci",
    re.IGNORECASE,
)


class RecordingMailer:
    def __init__(self) -> None:
        self.sent: list[OutgoingMessage] = []

    def send(self, message: OutgoingMessage) -> str:
        self.sent.append(message)
        return f"<{len(self.sent)}@test>"


def _item_texts() -> list[str]:
    texts = []
    for spec in scoring.list_instruments():
        for item in spec.items:
            texts.extend(item.text.values())
        for choice in spec.choices:
            texts.extend(t for t in choice.text.values() if len(t) > 12)
    return texts


def test_nothing_clinical_in_any_email_or_log_line(
    app: Flask, db: Any, make_user: Any, now: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client = make_user("client", display_name="Rosa", language="es")
    therapist = make_user("therapist", display_name="Ana")
    lonely = make_user("client", display_name="Lone")
    make_user("admin")
    add_booking(db, therapist, client, now - timedelta(days=7), status="completed")
    cadence.set_cadence(
        therapist_user_id=therapist.id, client_id=client.id, cadence="every_session", now=now
    )
    upcoming = add_booking(db, therapist, client, now + timedelta(days=2), commit=False)
    notifications.on_booking_confirmed(booking=upcoming, now=now)
    db.session.commit()

    # Through the API, the pages and the services: answers with item 9 above zero.
    browser = app.test_client()
    token = browser.post("/api/v1/tokens", json={"email": client.email, "password": PASSWORD})
    headers = {"Authorization": f"Bearer {token.get_json()['token']}"}
    created = browser.post(
        "/api/v1/screenings",
        headers=headers,
        json={"instrument": "phq9", "answers": [3, 3, 3, 3, 3, 2, 2, 2, 2], "difficulty": 3},
    ).get_json()
    assert created["severity"] == "severe" and created["total"] == 23
    browser.post("/api/v1/screenings", headers=headers, json={"instrument": "gad7", "answers": [9]})
    browser.get(f"/api/v1/screenings?client_id={client.id}", headers=headers)
    browser.get(f"/api/v1/screenings/{created['id']}/fhir", headers=headers)
    submit.submit_screening(
        client_id=lonely.id, instrument="phq9", answers=[1, 1, 1, 1, 2, 2, 2, 1, 1], now=now
    )
    submit.submit_screening(client_id=lonely.id, instrument="gad7", answers=[2] * 7, now=now)
    queries.caseload(therapist_user_id=therapist.id, now=now)
    fhir.export_observations(actor_id=therapist.id, client_id=client.id, now=now)
    [alert] = alerts.list_alerts(actor_id=therapist.id)
    alerts.acknowledge_alert(actor_id=therapist.id, alert_id=alert.id, now=now)
    mailer = RecordingMailer()
    outbox.dispatch_due(mailer=mailer, now=now + timedelta(days=3))

    rows = db.session.scalars(select(OutboxMessage)).all()
    kinds = {r.kind for r in rows}
    assert {"screening_alert", "reminder"} <= kinds
    assert any("/screening/check-in" in r.body_text for r in rows)
    outgoing = [f"{r.subject}\n{r.body_text}\n{r.body_html or ''}" for r in rows]
    outgoing += [f"{m.subject}\n{m.text}\n{m.html or ''}" for m in mailer.sent]
    assert mailer.sent
    logs = [record.getMessage() for record in caplog.records]
    assert logs
    numbers = {"23", "12", "14"}  # the totals of this test
    texts = _item_texts()
    for text in outgoing + logs:
        assert not SEVERITY_WORDS.search(text), text
        assert not any(t in text for t in texts), text
        for number in numbers:
            assert not re.search(rf"(?<![\d:/-]){number}(?![\d:/-])", text), (number, text)
        assert "[3, 3, 3" not in text and "answers" not in text.lower()
