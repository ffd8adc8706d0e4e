"""Demo screening history: months of results so the charts and caseload show something real."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from teletherapy.demo.screening import answers_for, seed_demo_screenings
from teletherapy.domain import screening as scoring
from teletherapy.models import OutboxMessage, Screening, ScreeningAlert
from teletherapy.services.screening import cadence, queries


def test_answers_add_up_and_never_touch_the_self_harm_item() -> None:
    phq9 = scoring.get_instrument("phq9")
    for total in range(25):
        values = answers_for(phq9, total)
        assert sum(values) == total and values[8] == 0 and max(values) <= 3
    assert sum(answers_for(scoring.get_instrument("gad7"), 21)) == 21


def test_demo_clients_get_a_history_with_their_demo_therapist(
    db: Any, make_user: Any, now: Any
) -> None:
    therapist = make_user("therapist")
    clients = [make_user("client") for _ in (1, 2)]
    # Demo addresses use the reserved .test domain, which sign-up refuses.
    therapist.email = "therapist1@demo.test"
    for i, person in enumerate(clients, start=1):
        person.email = f"client{i}@demo.test"
    db.session.commit()
    assert seed_demo_screenings(now=now, therapists=1, clients=2) == 2
    assert seed_demo_screenings(now=now, therapists=1, clients=2) == 0  # once only
    assert seed_demo_screenings(now=now, therapists=0, clients=2) == 0
    rows = db.session.scalars(select(Screening)).all()
    assert len(rows) == 20
    assert min(r.completed_at for r in rows) == (now - timedelta(weeks=16)).replace(second=0)
    assert db.session.scalars(select(ScreeningAlert)).all() == []
    assert db.session.scalars(select(OutboxMessage)).all() == []
    caseload = queries.caseload(therapist_user_id=therapist.id, now=now)
    assert [r.client.id for r in caseload] == [clients[1].id, clients[0].id]
    assert caseload[0].is_not_improving
    assert caseload[1].series[0].change.category == "reliable_recovery"
    assert cadence.get_cadence(therapist_id=therapist.therapist_id, client_id=clients[0].id) == (
        "every_other"
    )
    trend = queries.client_trend(actor_id=therapist.id, client_id=clients[0].id, now=now)
    assert len(trend.sessions) == 8


def test_past_sessions_keep_one_working_hour_on_the_therapists_clock_across_dst(
    db: Any, make_user: Any, now: Any
) -> None:
    """Weeks before and after the US change of Nov 1 2026: the same 8:00 / 9:00 in New
    York for each client (not one UTC instant, which read 3 a.m. after the change)."""
    from zoneinfo import ZoneInfo

    from teletherapy.models import Booking

    therapist = make_user("therapist", time_zone="America/New_York")
    clients = [make_user("client") for _ in (1, 2)]
    therapist.email = "therapist1@demo.test"
    for i, person in enumerate(clients, start=1):
        person.email = f"client{i}@demo.test"
    db.session.commit()
    seed_demo_screenings(now=now, therapists=1, clients=2)
    zone = ZoneInfo("America/New_York")
    for person, hour in zip(clients, (8, 9), strict=True):
        starts = db.session.scalars(
            select(Booking.start_at).where(Booking.client_id == person.id)
        ).all()
        local = {s.astimezone(zone) for s in starts}
        assert len(local) == 8
        assert {(t.hour, t.minute) for t in local} == {(hour, 0)}
        assert {t.utcoffset() for t in local} == {timedelta(hours=-4), timedelta(hours=-5)}
