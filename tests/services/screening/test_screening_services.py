"""Screening services on SQLite and PostgreSQL: submit, access, alerts, cadence, caseload, FHIR."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from teletherapy.domain.errors import NotFoundError, PermissionDenied, ValidationError
from teletherapy.domain.screening import InvalidAnswers
from teletherapy.models import OutboxMessage, Screening, ScreeningAlert, ScreeningConsent
from teletherapy.services.audit import list_events
from teletherapy.services.screening import alerts, cadence, fhir, queries, submit
from tests.booking_rows import add_booking

PHQ_MILD = [1, 1, 1, 1, 1, 1, 0, 0, 0]  # 6, mild
PHQ_ITEM9 = [0, 0, 0, 0, 0, 0, 0, 0, 1]


@pytest.fixture
def people(make_user: Any, db: Any, now: Any) -> dict[str, Any]:
    client = make_user("client", display_name="Rosa")
    therapist = make_user("therapist", display_name="Ana")
    other_therapist = make_user("therapist", display_name="Ben")
    other_client = make_user("client", display_name="Carl")
    admin = make_user("admin", display_name="Admin")
    add_booking(db, therapist, client, now - timedelta(days=7), status="completed")
    return {
        "client": client,
        "therapist": therapist,
        "other_therapist": other_therapist,
        "other_client": other_client,
        "admin": admin,
    }


def test_submit_scores_records_and_consents_by_submitting(db: Any, people: Any, now: Any) -> None:
    client = people["client"]
    result = submit.submit_screening(
        client_id=client.id, instrument="phq9", answers=PHQ_MILD, difficulty=1, now=now
    )
    row = result.screening
    assert (row.total, row.severity, row.difficulty, row.language) == (6, "mild", 1, "en")
    assert result.flags == () and result.alerts == 0
    consent = db.session.get(ScreeningConsent, row.consent_id)
    assert consent.is_given and consent.text_version == submit.SUBMITTED_CONSENT_VERSION
    assert [e.action for e in list_events(subject_user_id=client.id)] == ["screening.submit"]


def test_intake_consent_is_recorded_and_used(db: Any, people: Any, now: Any) -> None:
    client = people["client"]
    assert not submit.has_consented(client_id=client.id)
    submit.record_consent(client_id=client.id, is_given=False, language="es", now=now)
    assert not submit.has_consented(client_id=client.id)
    given = submit.record_consent(
        client_id=client.id, is_given=True, now=now + timedelta(minutes=1)
    )
    assert submit.has_consented(client_id=client.id)
    row = submit.submit_screening(
        client_id=client.id, instrument="gad7", answers=[0] * 7, is_intake=True, language="es",
        now=now + timedelta(minutes=2),
    ).screening  # fmt: skip
    assert row.consent_id == given.id and row.is_intake and row.language == "es"
    actions = [e.action for e in list_events(subject_user_id=client.id)]
    assert actions == ["screening.submit", "screening_consent.give", "screening_consent.decline"]


def test_bad_answers_change_nothing(db: Any, people: Any, now: Any) -> None:
    with pytest.raises(InvalidAnswers) as caught:
        submit.submit_screening(
            client_id=people["client"].id, instrument="phq9", answers=[0] * 8 + [7], now=now
        )
    assert "answers[8]" in caught.value.errors
    with pytest.raises(InvalidAnswers):
        submit.submit_screening(
            client_id=people["client"].id, instrument="gad7", answers=[0] * 7, difficulty=9, now=now
        )
    assert db.session.scalars(select(Screening)).all() == []
    assert list_events() == []


def test_only_clients_answer(people: Any, now: Any) -> None:
    with pytest.raises(PermissionDenied):
        submit.submit_screening(
            client_id=people["therapist"].id, instrument="gad7", answers=[0] * 7, now=now
        )
    with pytest.raises(PermissionDenied):
        submit.record_consent(client_id=people["admin"].id, is_given=True, now=now)
    with pytest.raises(NotFoundError):
        submit.submit_screening(client_id=99999, instrument="gad7", answers=[0] * 7, now=now)


def test_item_9_alerts_the_treating_therapist_through_the_outbox(
    db: Any, people: Any, now: Any
) -> None:
    client, therapist = people["client"], people["therapist"]
    result = submit.submit_screening(
        client_id=client.id, instrument="phq9", answers=PHQ_ITEM9, now=now
    )
    assert result.flags == ("self_harm_item",) and result.alerts == 1
    [alert] = db.session.scalars(select(ScreeningAlert)).all()
    assert (alert.therapist_id, alert.client_id, alert.acknowledged_at) == (
        therapist.therapist_id, client.id, None,
    )  # fmt: skip
    [message] = db.session.scalars(select(OutboxMessage)).all()
    assert message.to_address == therapist.email
    assert message.subject == "A questionnaire needs your attention"
    assert f"http://testserver/screening/clients/{client.id}" in message.body_text
    assert "Rosa" not in message.body_text + message.subject


def test_item_9_without_a_therapist_alerts_every_admin(
    db: Any, people: Any, make_user: Any, now: Any
) -> None:
    second_admin = make_user("admin", language="es")
    lonely = people["other_client"]
    submit.submit_screening(client_id=lonely.id, instrument="phq9", answers=PHQ_ITEM9, now=now)
    [alert] = db.session.scalars(select(ScreeningAlert)).all()
    assert alert.therapist_id is None
    messages = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert [m.to_address for m in messages] == [people["admin"].email, second_admin.email]
    assert messages[1].subject == "Un cuestionario requiere su atención"
    assert "http://testserver/screening/alerts" in messages[0].body_text


def test_alerts_list_and_acknowledge_with_who_and_when(db: Any, people: Any, now: Any) -> None:
    client, therapist = people["client"], people["therapist"]
    submit.submit_screening(client_id=client.id, instrument="phq9", answers=PHQ_ITEM9, now=now)
    [view] = alerts.list_alerts(actor_id=therapist.id)
    assert view.client_name == "Rosa" and view.acknowledged_at is None and view.can_open_results
    assert alerts.count_open_alerts(actor_id=therapist.id) == 1
    assert alerts.count_open_alerts(actor_id=client.id) == 0
    assert alerts.list_alerts(actor_id=people["other_therapist"].id) == []
    assert alerts.list_alerts(actor_id=people["admin"].id) == []
    with pytest.raises(NotFoundError):
        alerts.acknowledge_alert(actor_id=people["other_therapist"].id, alert_id=view.id, now=now)
    with pytest.raises(NotFoundError):
        alerts.acknowledge_alert(actor_id=people["admin"].id, alert_id=view.id, now=now)
    with pytest.raises(PermissionDenied):
        alerts.list_alerts(actor_id=client.id)
    later = now + timedelta(minutes=5)
    alerts.acknowledge_alert(actor_id=therapist.id, alert_id=view.id, now=later)
    alerts.acknowledge_alert(
        actor_id=therapist.id, alert_id=view.id, now=later + timedelta(hours=1)
    )
    [done] = alerts.list_alerts(actor_id=therapist.id)
    assert (done.acknowledged_at, done.acknowledged_by_name) == (later, "Ana")
    assert alerts.count_open_alerts(actor_id=therapist.id) == 0
    assert len(list_events(action="screening_alert.acknowledge")) == 1


def test_admins_acknowledge_alerts_of_clients_without_a_therapist(
    db: Any, people: Any, now: Any
) -> None:
    submit.submit_screening(
        client_id=people["other_client"].id, instrument="phq9", answers=PHQ_ITEM9, now=now
    )
    [view] = alerts.list_alerts(actor_id=people["admin"].id)
    assert not view.can_open_results
    alerts.acknowledge_alert(actor_id=people["admin"].id, alert_id=view.id, now=now)
    assert alerts.list_alerts(actor_id=people["admin"].id)[0].acknowledged_by_name == "Admin"


def test_only_the_client_and_their_therapists_see_results(db: Any, people: Any, now: Any) -> None:
    client = people["client"]
    row = submit.submit_screening(
        client_id=client.id, instrument="gad7", answers=[1] * 7, now=now
    ).screening
    for who in ("client", "therapist"):
        listed = queries.list_screenings(actor_id=people[who].id, client_id=client.id, now=now)
        assert [r.id for r in listed] == [row.id]
        assert queries.get_screening(actor_id=people[who].id, screening_id=row.id, now=now) is row
    for who in ("other_therapist", "other_client", "admin"):
        with pytest.raises(NotFoundError):
            queries.list_screenings(actor_id=people[who].id, client_id=client.id, now=now)
        with pytest.raises(NotFoundError):
            queries.get_screening(actor_id=people[who].id, screening_id=row.id, now=now)
        with pytest.raises(NotFoundError):
            fhir.export_observations(actor_id=people[who].id, client_id=client.id, now=now)
    with pytest.raises(NotFoundError):
        queries.get_screening(actor_id=client.id, screening_id=row.id + 100, now=now)
    with pytest.raises(NotFoundError):
        queries.list_screenings(actor_id=client.id, client_id=people["therapist"].id, now=now)
    events = list_events(subject_user_id=client.id)
    assert [(e.actor_user_id, e.action) for e in reversed(events)] == [
        (client.id, "screening.submit"),
        (client.id, "screening.list"),
        (client.id, "screening.view"),
        (people["therapist"].id, "screening.list"),
        (people["therapist"].id, "screening.view"),
    ]


def test_a_cancelled_only_booking_does_not_make_a_treating_therapist(
    db: Any, people: Any, make_user: Any, now: Any
) -> None:
    stranger = make_user("therapist")
    add_booking(db, stranger, people["client"], now + timedelta(days=3), status="cancelled")
    with pytest.raises(NotFoundError):
        queries.list_screenings(actor_id=stranger.id, client_id=people["client"].id, now=now)


def _history(client_id: int, totals: list[int], start: Any, *, weeks: int = 2) -> None:
    for i, total in enumerate(totals):
        answers = [min(3, max(0, total - 3 * k)) for k in range(9)]
        submit.submit_screening(
            client_id=client_id, instrument="phq9", answers=answers,
            now=start + timedelta(weeks=weeks * i),
        )  # fmt: skip


def test_trend_marks_change_and_sessions(db: Any, people: Any, now: Any) -> None:
    client, therapist = people["client"], people["therapist"]
    start = now - timedelta(weeks=10)
    _history(client.id, [16, 12, 9], start, weeks=4)
    add_booking(db, people["other_therapist"], client, now - timedelta(days=3), status="completed")
    trend = queries.client_trend(actor_id=therapist.id, client_id=client.id, now=now)
    phq = trend.series[0]
    assert [p.total for p in phq.points] == [16, 12, 9]
    assert phq.points[0].change is None
    assert phq.points[1].change.category == "no_reliable_change"
    assert phq.change.category == "reliable_recovery"
    assert not phq.is_not_improving
    assert trend.series[1].points == [] and trend.series[1].latest is None
    assert trend.sessions == [now - timedelta(days=7)]  # only this therapist's sessions
    own = queries.client_trend(actor_id=client.id, client_id=client.id, now=now)
    assert len(own.sessions) == 2


def test_caseload_sorts_not_improving_first(db: Any, people: Any, make_user: Any, now: Any) -> None:
    therapist = people["therapist"]
    stuck = make_user("client", display_name="Zed")
    quiet = make_user("client", display_name="Abe")
    add_booking(db, therapist, stuck, now - timedelta(days=6), status="completed")
    add_booking(db, therapist, quiet, now - timedelta(days=5), status="completed")
    _history(people["client"].id, [15, 8], now - timedelta(weeks=9), weeks=8)
    _history(stuck.id, [15, 14], now - timedelta(weeks=9), weeks=8)
    rows = queries.caseload(therapist_user_id=therapist.id, now=now)
    assert [r.client.display_name for r in rows] == ["Zed", "Abe", "Rosa"]
    assert rows[0].is_not_improving and not rows[2].is_not_improving
    assert rows[1].last_completed_at is None
    assert rows[2].series[0].change.delta == -7
    by_name = queries.caseload(therapist_user_id=therapist.id, now=now, sort="name")
    assert [r.client.display_name for r in by_name] == ["Abe", "Rosa", "Zed"]
    assert len(list_events(action="screening.view_caseload")) == 4
    with pytest.raises(PermissionDenied):
        queries.caseload(therapist_user_id=people["client"].id, now=now)


def test_cadence_is_set_by_a_treating_therapist_only(db: Any, people: Any, now: Any) -> None:
    client, therapist = people["client"], people["therapist"]
    assert cadence.get_cadence(therapist_id=therapist.therapist_id, client_id=client.id) == "off"
    cadence.set_cadence(
        therapist_user_id=therapist.id, client_id=client.id, cadence="monthly", now=now
    )
    cadence.set_cadence(
        therapist_user_id=therapist.id, client_id=client.id, cadence="every_other", now=now
    )
    assert cadence.get_cadence(therapist_id=therapist.therapist_id, client_id=client.id) == (
        "every_other"
    )
    with pytest.raises(ValidationError):
        cadence.set_cadence(
            therapist_user_id=therapist.id, client_id=client.id, cadence="daily", now=now
        )
    with pytest.raises(NotFoundError):
        cadence.set_cadence(
            therapist_user_id=people["other_therapist"].id, client_id=client.id, cadence="off",
            now=now,
        )  # fmt: skip
    with pytest.raises(PermissionDenied):
        cadence.set_cadence(
            therapist_user_id=client.id, client_id=client.id, cadence="off", now=now
        )


def test_check_in_link_follows_the_cadence(db: Any, people: Any, now: Any) -> None:
    client, therapist = people["client"], people["therapist"]
    upcoming = add_booking(db, therapist, client, now + timedelta(days=7))
    assert cadence.check_in_link(upcoming) is None  # off by default
    cadence.set_cadence(
        therapist_user_id=therapist.id, client_id=client.id, cadence="every_other", now=now
    )
    assert cadence.check_in_link(upcoming) == "http://testserver/screening/check-in"
    submit.submit_screening(client_id=client.id, instrument="gad7", answers=[0] * 7, now=now)
    assert cadence.check_in_link(upcoming) is None
    later = add_booking(db, therapist, client, now + timedelta(days=14))
    assert cadence.check_in_link(later) is not None
    group_row = add_booking(db, therapist, None, now + timedelta(days=21))
    assert cadence.check_in_link(group_row) is None


def test_fhir_documents_validate_as_r4(db: Any, people: Any, now: Any) -> None:
    from fhir.resources.R4B.bundle import Bundle
    from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

    client = people["client"]
    phq = submit.submit_screening(
        client_id=client.id, instrument="phq9", answers=PHQ_MILD, difficulty=2, language="es",
        now=now,
    ).screening  # fmt: skip
    submit.submit_screening(client_id=client.id, instrument="gad7", answers=[2] * 7, now=now)
    document = fhir.export_questionnaire_response(
        actor_id=people["therapist"].id, screening_id=phq.id, now=now
    )
    parsed = QuestionnaireResponse.model_validate(document)
    assert parsed.questionnaire == "http://loinc.org/q/44249-1"
    assert document["item"][0]["answer"][0]["valueCoding"]["code"] == "LA6569-3"
    assert document["item"][0]["text"] == "Poco interés o placer en hacer cosas"
    assert document["item"][-1]["linkId"] == "/44261-6"
    assert document["item"][-1]["answer"] == [{"valueInteger": 6}]
    assert document["item"][-2]["linkId"] == "/69722-7"
    observations = fhir.export_observations(actor_id=client.id, client_id=client.id, now=now)
    bundle = Bundle.model_validate(observations)
    codes = [e.resource.code.coding[0].code for e in bundle.entry]
    assert codes == ["44261-6", "70274-6"]
    assert [e["resource"]["valueInteger"] for e in observations["entry"]] == [6, 14]
    everything = fhir.download_own_results(client_id=client.id, now=now)
    assert len(Bundle.model_validate(everything).entry) == 4
    gad_response = everything["entry"][2]["resource"]
    assert QuestionnaireResponse.model_validate(gad_response).questionnaire.endswith("69737-5")
    actions = {e.action for e in list_events(subject_user_id=client.id)}
    assert {"screening.export_fhir", "screening.export_observations", "screening.download"} <= (
        actions
    )


def test_fhir_of_gad7_difficulty_links_its_loinc_question(db: Any, people: Any, now: Any) -> None:
    from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

    row = submit.submit_screening(
        client_id=people["client"].id, instrument="gad7", answers=[0] * 7, difficulty=0, now=now
    ).screening
    document = fhir.questionnaire_response(row)
    QuestionnaireResponse.model_validate(document)
    # LOINC panel 69737-5 asks the same difficulty question as the PHQ-9 (69722-7).
    assert document["item"][-2]["linkId"] == "/69722-7"
