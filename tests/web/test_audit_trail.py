"""Who viewed or changed whose data is recorded; administrators search it; nobody edits it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from teletherapy.clock import utcnow
from teletherapy.extensions import db
from teletherapy.models import AuditEvent
from tests.payment_fakes import add_booking


def events() -> list[AuditEvent]:
    db.session.rollback()
    return list(db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)))


def test_a_therapist_opening_a_clients_session_page_is_recorded(login: Any, make_user: Any) -> None:
    therapist, patient = make_user("therapist"), make_user("client")
    booking = add_booking(
        therapist, patient, start=utcnow() + timedelta(days=2), status="confirmed"
    )
    client = login(therapist)
    assert client.get(f"/sessions/{booking.id}").status_code == 200
    [event] = [e for e in events() if e.resource_type == "booking"]
    assert (event.actor_user_id, event.subject_user_id) == (therapist.id, patient.id)
    assert event.action == "view:sessions.detail" and event.resource_id == str(booking.id)


def test_a_refused_request_records_nothing(login: Any, make_user: Any) -> None:
    therapist, patient, stranger = make_user("therapist"), make_user(), make_user()
    booking = add_booking(therapist, patient, start=utcnow() + timedelta(days=2))
    assert login(stranger).get(f"/sessions/{booking.id}").status_code == 404
    assert [e for e in events() if e.resource_type == "booking"] == []


def test_profile_views_and_changes_are_recorded(login: Any, make_user: Any) -> None:
    therapist = make_user("therapist")
    assert login(therapist).get("/practice/profile").status_code == 200
    client = login(patient := make_user())
    client.post(
        "/account",
        data={"display_name": "New", "time_zone": "America/Chicago", "language": "en"},
    )
    actions = {(e.action, e.subject_user_id) for e in events()}
    assert ("view:practice.edit_profile", therapist.id) in actions
    assert ("change:accounts.settings", patient.id) in actions


def test_every_admin_action_is_recorded_and_searchable(login: Any, make_user: Any) -> None:
    from teletherapy.services.accounts.users import sign_up

    pending = sign_up(
        email="new.t@example.org",
        password="tulip-harbor-engine-42",
        display_name="New T",
        role="therapist",
        time_zone="America/New_York",
        language="en",
    )
    assert pending is not None
    admin = make_user("admin")
    client = login(admin)
    client.get("/admin/")
    client.post(f"/admin/therapists/{pending.id}/approve")
    recorded = {(e.action, e.actor_user_id, e.subject_user_id) for e in events()}
    assert ("admin-view:admin.dashboard", admin.id, None) in recorded
    assert ("admin-change:admin.approve", admin.id, pending.id) in recorded
    page = client.get(f"/admin/audit?subject={pending.id}").get_data(as_text=True)
    assert "admin-change:admin.approve" in page and "admin-view:admin.dashboard" not in page
    assert client.get("/admin/audit?subject=abc").status_code == 422


def test_only_administrators_see_the_audit_log(login: Any, make_user: Any) -> None:
    assert login(make_user("therapist")).get("/admin/audit").status_code == 403


def test_superbills_and_their_pdf_are_recorded_as_the_clients_data(
    login: Any, make_user: Any
) -> None:
    from tests.web.payments.test_pages import superbill_setup

    therapist, patient = make_user("therapist"), make_user("client")
    booking = superbill_setup((therapist, patient))
    client = login(patient)
    assert client.get(f"/payments/superbill?booking={booking.id}").status_code == 200
    assert client.get(f"/payments/superbill.pdf?booking={booking.id}").status_code == 200
    recorded = {(e.action, e.actor_user_id, e.subject_user_id) for e in events()}
    assert ("view:payments.superbill", patient.id, patient.id) in recorded
    assert ("view:payments.superbill_as_pdf", patient.id, patient.id) in recorded


def test_the_api_reading_a_session_is_recorded(client: Any, make_user: Any, api_token: Any) -> None:
    therapist, patient = make_user("therapist"), make_user("client")
    booking = add_booking(therapist, patient, start=utcnow() + timedelta(days=2))
    headers = api_token(therapist)
    assert client.get(f"/api/v1/bookings/{booking.id}", headers=headers).status_code == 200
    [event] = [e for e in events() if e.resource_type == "booking"]
    assert event.action == "view:api_bookings.get_booking"
    assert (event.actor_user_id, event.subject_user_id) == (therapist.id, patient.id)
