"""A client downloads everything held about them and closes the account; billing stays."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import func, select

from teletherapy.clock import utcnow
from teletherapy.extensions import db
from teletherapy.models import AuditEvent, Booking, Payment, Screening, User
from tests.conftest import PASSWORD
from tests.web.payments.test_pages import superbill_setup


def test_a_client_downloads_all_their_data_as_json_with_fhir_screenings(
    login: Any, make_user: Any
) -> None:
    therapist, patient = make_user("therapist"), make_user("client", display_name="Lin Wu")
    booking = superbill_setup((therapist, patient))
    client = login(patient)
    response = client.get("/account/export")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert "attachment" in response.headers["Content-Disposition"]
    assert "no-store" in response.headers["Cache-Control"]
    data = response.get_json()
    assert data["account"]["email"] == patient.email
    assert data["account"]["display_name"] == "Lin Wu"
    assert [s["id"] for s in data["sessions"]] == [booking.id]
    assert data["payments"] and data["payments"][0]["session_id"] == booking.id
    assert data["screening_results_fhir"]["resourceType"] == "Bundle"
    db.session.rollback()
    actions = set(db.session.scalars(select(AuditEvent.action)))
    assert "account.export" in actions


def test_only_clients_export_and_nobody_exports_someone_else(
    login: Any, make_user: Any, client: FlaskClient
) -> None:
    assert client.get("/account/export").status_code == 302  # signed out: to sign-in
    assert login(make_user("therapist")).get("/account/export").status_code == 403


def test_closing_keeps_billing_records_and_removes_the_person(
    login: Any, make_user: Any, client: FlaskClient
) -> None:
    therapist, patient = make_user("therapist"), make_user("client", display_name="Lin Wu")
    booking = superbill_setup((therapist, patient))
    db.session.add(
        Screening(
            client_id=patient.id,
            instrument="phq9",
            answers=[0] * 9,
            total=0,
            severity="minimal",
            language="en",
            completed_at=utcnow(),
        )
    )
    db.session.commit()
    email, user_id = patient.email, patient.id
    login(patient)
    page = client.get("/account").get_data(as_text=True)
    assert "Close your account" in page and "kept for billing records" in page
    wrong = client.post("/account/close", data={"password": "not-the-one-1", "confirm": "y"})
    assert wrong.status_code == 422
    response = client.post("/account/close", data={"password": PASSWORD, "confirm": "y"})
    assert response.status_code == 302
    db.session.rollback()
    closed = db.session.get(User, user_id)
    assert closed is not None and closed.status == "closed"
    assert email not in closed.email and "Lin" not in closed.display_name
    # Billing records stay, under the id.
    assert db.session.get(Booking, booking.id) is not None
    assert db.session.scalar(select(func.count(Payment.id)).where(Payment.client_id == user_id))
    counted = select(func.count(Screening.id)).where(Screening.client_id == user_id)
    assert db.session.scalar(counted) == 0
    # Signed out, and the old password no longer signs in.
    assert client.get("/account").status_code == 302
    again = client.post("/sign-in", data={"email": email, "password": PASSWORD})
    assert again.status_code == 422


def test_upcoming_sessions_must_be_cancelled_before_closing(
    login: Any, make_user: Any, client: FlaskClient
) -> None:
    from tests.payment_fakes import add_booking

    therapist, patient = make_user("therapist"), make_user("client")
    add_booking(therapist, patient, start=utcnow() + timedelta(days=2), status="confirmed")
    login(patient)
    response = client.post("/account/close", data={"password": PASSWORD, "confirm": "y"})
    assert response.status_code == 422
    assert "Cancel your upcoming sessions first" in response.get_data(as_text=True)
    db.session.rollback()
    assert db.session.get(User, patient.id).status == "active"
