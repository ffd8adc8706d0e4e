"""Demo screening history: a few months of PHQ-9 and GAD-7 for some demo clients.

Each chosen client gets completed sessions every two weeks with their demo therapist
(through the lifecycle, as the demo's other past sessions are) and results answered
through the screening service, so the charts, the caseload view and the change flags
show something real. No demo answer flags self-harm (no alert emails from the seed).
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from teletherapy.domain import screening as scoring
from teletherapy.domain.errors import ConflictError
from teletherapy.extensions import db
from teletherapy.models import Screening, User
from teletherapy.services.bookings import lifecycle
from teletherapy.services.matching.search import price_for_client
from teletherapy.services.screening import cadence, submit

# Totals at 16, 12, 8, 4 and 1 weeks ago: improving, stuck, recovered, getting worse.
PHQ9_PATTERNS = (
    (17, 14, 11, 8, 6),
    (15, 16, 14, 15, 14),
    (12, 10, 8, 6, 5),
    (6, 8, 10, 12, 13),
)
GAD7_PATTERNS = (
    (14, 12, 9, 7, 5),
    (12, 12, 13, 11, 12),
    (9, 8, 6, 5, 4),
    (4, 6, 8, 9, 10),
)
WEEKS_AGO = (16, 12, 8, 4, 1)
SESSION_WEEKS_AGO = (16, 14, 12, 10, 8, 6, 4, 3)  # weeks 1 and 2 come from the session seed


def answers_for(instrument: scoring.Instrument, total: int) -> list[int]:
    """Item scores adding up to `total`, spread evenly; the self-harm item stays at 0."""
    scored = [
        i for i, item in enumerate(instrument.items) if item.number != instrument.self_harm_item
    ]
    values = [0] * len(instrument.items)
    for step in range(total):
        values[scored[step % len(scored)]] += 1
    return values


def seed_demo_screenings(*, now: datetime, therapists: int, clients: int) -> int:
    """Give demo clients 1..min(clients, 6) a screening history; returns how many clients."""
    if therapists < 1:
        return 0
    phq9 = scoring.get_instrument("phq9")
    gad7 = scoring.get_instrument("gad7")
    seeded = 0
    for i in range(1, min(clients, 6) + 1):
        client = db.session.scalar(select(User).where(User.email == f"client{i}@demo.test"))
        therapist = db.session.scalar(
            select(User).where(User.email == f"therapist{(i - 1) % therapists + 1}@demo.test")
        )
        if client is None or therapist is None or therapist.therapist_id is None:
            continue
        if db.session.scalar(select(Screening.id).where(Screening.client_id == client.id)):
            continue
        _past_sessions(client, therapist, now=now, slot=(i - 1) // therapists)
        pattern = (i - 1) % len(PHQ9_PATTERNS)
        for weeks, phq_total, gad_total in zip(
            WEEKS_AGO, PHQ9_PATTERNS[pattern], GAD7_PATTERNS[pattern], strict=True
        ):
            at = (now - timedelta(weeks=weeks)).replace(second=0, microsecond=0)
            language = "es" if i % 3 == 0 else "en"
            for spec, total in ((phq9, phq_total), (gad7, gad_total)):
                submit.submit_screening(
                    client_id=client.id,
                    instrument=spec.code,
                    answers=answers_for(spec, total),
                    difficulty=min(3, total // 6),
                    language=language,
                    is_intake=weeks == WEEKS_AGO[0],
                    now=at,
                )
        cadence.set_cadence(
            therapist_user_id=therapist.id, client_id=client.id, cadence="every_other", now=now
        )
        seeded += 1
    return seeded


def weekly_session_start(now: datetime, *, weeks_ago: int, time_zone: str, slot: int) -> datetime:
    """A demo client's past weekly session: the same working hour on the therapist's clock
    every week, across DST (8:00 for slot 0, 9:00 for slot 1, ... 17:00; further slots a
    day earlier), so clients who share a therapist never meet them at the same time."""
    zone = ZoneInfo(time_zone)
    day = (now - timedelta(weeks=weeks_ago, days=slot // 10)).astimezone(zone).date()
    return datetime.combine(day, time(8 + slot % 10), tzinfo=zone).astimezone(UTC)


def _past_sessions(client: User, therapist: User, *, now: datetime, slot: int) -> None:
    """Completed sessions through the lifecycle, at the client's price, at the client's
    weekly hour (weekly_session_start)."""
    assert therapist.therapist_id is not None
    try:
        fee_cents, fee_band = price_for_client(
            therapist_id=therapist.therapist_id, client_id=client.id
        )
    except ConflictError:  # a partial demo without fee profiles: history without a price
        fee_cents, fee_band = 0, None
    sessions = []
    for weeks in SESSION_WEEKS_AGO:
        start = weekly_session_start(now, weeks_ago=weeks, time_zone=therapist.time_zone, slot=slot)
        sessions.append(
            lifecycle.NewSession(
                start=start,
                end=start + timedelta(minutes=50),
                setting="online",
                time_zone=therapist.time_zone,
                buffer_minutes=10,
                travel_buffer_minutes=0,
            )
        )
    lifecycle.add_past_sessions(
        therapist_id=therapist.therapist_id,
        client_id=client.id,
        sessions=sessions,
        fee_cents=fee_cents,
        fee_band=fee_band,
        now=now,
    )
    db.session.commit()
