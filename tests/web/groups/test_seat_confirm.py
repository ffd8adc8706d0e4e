"""Taking a seat in a group: a confirm step with the money, then one email and one invite."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from teletherapy.extensions import db
from teletherapy.models import OutboxMessage
from teletherapy.services.groups import groups
from tests.booking_setup import set_availability

FIRST = datetime(2026, 12, 3, 15, 0, tzinfo=UTC)  # Thursdays 10:00 New York


@pytest.fixture(autouse=True)
def frozen(app: Flask, monkeypatch: Any, now: datetime) -> None:
    import teletherapy.web.groups.pages as views

    monkeypatch.setattr(views, "utcnow", lambda: now)


def test_the_confirm_step_states_price_meetings_and_total_then_one_email_one_invite(
    login: Any, make_user: Any, now: datetime
) -> None:
    therapist = make_user("therapist", display_name="Dr Ana")
    set_availability(therapist)
    group = groups.create_group(
        therapist_user_id=therapist.id,
        title="Grief circle",
        modality="cbt",
        setting="online",
        capacity=4,
        fee_cents=2500,
        first_start=FIRST,
        duration_minutes=60,
        weekly_count=4,
        now=now,
    )
    member = make_user("client", display_name="Lin")
    browser = login(member)
    detail = browser.get(f"/groups/{group.id}").get_data(as_text=True)
    assert f'href="/groups/{group.id}/seat"' in detail
    page = browser.get(f"/groups/{group.id}/seat").get_data(as_text=True)
    assert '<dd id="per-meeting">$25</dd>' in page
    assert "4 meetings" in page and "<strong>$100</strong>" in page
    assert "Thursday, December 3, 2026, 10:00 am EST" in page
    assert browser.post(f"/groups/{group.id}/seat").status_code == 302
    mail = list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.user_id == member.id)))
    notices = [m for m in mail if m.kind != "reminder"]
    assert len(notices) == 1 and notices[0].ics is not None
    assert notices[0].ics.decode().count("BEGIN:VEVENT") == 1
    sessions = browser.get("/sessions").get_data(as_text=True)
    assert sessions.count("Group meeting") == 4
