"""Demo history for the access-equity page: searches, bookings and attendance over 90 days.

Everything goes through the real use cases with a simulated clock: `find_matches` at
the search's moment (which records the search and the client's first search), then
`book_session` days later (lower fee bands wait longer, as reduced-fee places fill),
then attendance, late cancellations and hardship waivers. Clients who need Vietnamese
or Haitian Creole, or home visits in Texas, mostly find no one: the recruiting list.
Clients with two sessions or more answer the PHQ-9 at their first and latest one:
lower bands, and clients who would rather speak Chinese (and mostly see therapists who
do not), improve reliably less often (the outcomes section).
"""

from __future__ import annotations

import logging
import random
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, update

from teletherapy.demo.screening import answers_for
from teletherapy.domain import screening as scoring
from teletherapy.domain.errors import DomainError
from teletherapy.extensions import db
from teletherapy.models import Booking, ClientProfile, OutboxMessage, TherapistProfile, User
from teletherapy.services import bookings as booking
from teletherapy.services.matching.search import find_matches
from teletherapy.services.payments import settle as payments
from teletherapy.services.screening import submit

logger = logging.getLogger(__name__)

NYC_ZIPS = ("10027", "10025", "10031", "10452", "10458", "11201", "11211", "11372", "11368")
# Days between a first search and booking, by band: reduced-fee places are scarcer.
WAIT_DAYS = {"a": (9, 24), "b": (5, 14), "c": (2, 7), "d": (1, 3)}
SESSIONS = {"a": (1, 4), "b": (2, 6), "c": (3, 7), "d": (4, 8)}
NO_SHOW = {"a": 0.15, "b": 0.1, "c": 0.06, "d": 0.04}
# Chance of a reliable improvement on the PHQ-9 between the first and latest session.
IMPROVES = {"a": 0.35, "b": 0.45, "c": 0.6, "d": 0.65}
IMPROVES_IN_OTHER_LANGUAGE = 0.6  # times that chance, when the client's language is not spoken
BANDS = {"a": 35, "b": 30, "c": 20, "d": 15}
# (weight, language wish, required): Spanish is well served, Vietnamese and Haitian
# Creole are not.
LANGUAGES: list[tuple[int, str | None, bool]] = [
    (50, None, False),
    (25, "es", True),
    (8, "zh", False),
    (9, "vi", True),
    (8, "ht", True),
]


def _pick(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _create_clients(count: int, rng: random.Random, now: datetime) -> list[int]:
    """Demo clients equity1..N@demo.test (password as every demo account)."""
    admin_hash = db.session.scalar(
        select(User.password_hash).where(User.email == "admin@demo.test")
    )
    rows = []
    for i in range(1, count + 1):
        state = rng.choices(["NY", "NJ", "TX"], weights=[70, 15, 15])[0]
        zip_code = {"NY": rng.choice(NYC_ZIPS), "NJ": "07030", "TX": "78701"}[state]
        rows.append(
            {
                "email": f"equity{i}@demo.test",
                "password_hash": admin_hash or "!",
                "role": "client",
                "status": "active",
                "display_name": f"Demo client E{i}",
                "time_zone": "America/Chicago" if state == "TX" else "America/New_York",
                "language": "en",
                "state": state,
                "zip": zip_code,
                "created_at": now - timedelta(days=100),
            }
        )
    ids = list(
        db.session.scalars(insert(User).returning(User.id, sort_by_parameter_order=True), rows)
    )
    db.session.execute(insert(ClientProfile), [{"user_id": i, "created_at": now} for i in ids])
    db.session.commit()
    return ids


def _request(rng: random.Random, user: User, band: str) -> dict[str, Any]:
    _, code, required = rng.choices(LANGUAGES, weights=[w for w, _, _ in LANGUAGES])[0]
    setting = rng.choices(["online", "in_office", "home"], weights=[70, 18, 12])[0]
    if user.state == "TX" and rng.random() < 0.5:
        setting = "home"
    return {
        "setting": setting,
        "state": user.state,
        "zip": user.zip,
        "fee_band": band,
        "languages": [{"code": code, "required": required}] if code else [],
        "limit": 5,
    }


def _book_first(
    client_id: int, therapist_id: int, setting: str, book_at: datetime, weeks: int
) -> list[Booking]:
    slots = booking.list_slots(
        therapist_id=therapist_id,
        from_date=(book_at + timedelta(days=1)).date(),
        to_date=(book_at + timedelta(days=10)).date(),
        setting=setting,
        now=book_at,
        is_new_client=True,
    )
    for slot in slots[:3]:
        for repeat in ((weeks,) if weeks > 1 else ()) + (None,):
            try:
                made = booking.book_session(
                    client_id=client_id,
                    therapist_id=therapist_id,
                    start=slot.start,
                    setting=setting,
                    now=book_at,
                    repeat_weekly=repeat,
                )
            except DomainError:
                continue
            return list(made.bookings)
    return []


def seed_demo_equity(*, now: datetime, seed: int, clients: int = 140) -> dict[str, int]:
    """Searches and care for `clients` extra demo clients over the 90 days before `now`.

    In the simulated clock's order: every search, then every first booking, then
    attendance, so that no step sees a later one as already done.
    """
    rng = random.Random(f"equity-{seed}")
    counts = {"searches": 0, "bookings": 0}
    plans = []
    for client_id in _create_clients(clients, rng, now):
        band = _pick(rng, BANDS)
        searched_at = now - timedelta(days=rng.randint(20, 88), hours=rng.randint(0, 10))
        plans.append((searched_at, client_id, band))
    wanted = []
    for searched_at, client_id, band in sorted(plans):
        user = db.session.get(User, client_id)
        assert user is not None
        request = _request(rng, user, band)
        try:
            found = find_matches(request_payload=request, client_id=client_id, now=searched_at)
        except DomainError:
            continue
        counts["searches"] += 1
        if found.matches and rng.random() > 0.1:
            low, high = WAIT_DAYS[band]
            book_at = searched_at + timedelta(days=rng.randint(low, high), hours=rng.randint(1, 8))
            therapist_id = int(found.matches[0].therapist["id"])
            languages = request["languages"]
            language = languages[0]["code"] if languages else ""
            matched = not language or language in found.matches[0].therapist["languages"]
            wanted.append((book_at, client_id, therapist_id, request["setting"], band, matched))
    booked = []
    for book_at, client_id, therapist_id, setting, band, matched in sorted(wanted):
        made = _book_first(client_id, therapist_id, setting, book_at, rng.randint(*SESSIONS[band]))
        counts["bookings"] += len(made)
        if made:
            booked.append((made, band, matched))
    counts["screened"] = 0
    for made, band, matched in sorted(booked, key=lambda item: item[0][0].start_at):
        _attend(made, band, rng, now)
        counts["screened"] += _screen(made, band, matched, rng)
    _retire_past_messages(now)
    return counts


def _attend(made: list[Booking], band: str, rng: random.Random, now: datetime) -> None:
    """Past sessions: attended, missed, or cancelled late (a few fees waived)."""
    if not made:
        return
    therapist = db.session.scalar(
        select(User).join(TherapistProfile).where(TherapistProfile.id == made[0].therapist_id)
    )
    assert therapist is not None
    for row in made:
        if row.end_at >= now:
            break
        try:
            if rng.random() < 0.07 * (2 if band == "a" else 1):
                booking.cancel_booking(
                    booking_id=row.id,
                    actor_id=int(row.client_id or 0),
                    now=row.start_at - timedelta(hours=3),
                    scope="future" if rng.random() < 0.5 else "one",
                )
                if rng.random() < 0.4:
                    payments.waive_late_fee(
                        therapist=therapist, booking_id=row.id, now=row.start_at
                    )
                break
            status = "no_show" if rng.random() < NO_SHOW[band] else "completed"
            booking.mark_attendance(
                booking_id=row.id,
                therapist_user_id=therapist.id,
                status=status,
                now=row.end_at + timedelta(minutes=5),
            )
        except DomainError as exc:
            logger.info("demo equity: skipped a session change (%s)", type(exc).__name__)
            db.session.rollback()


def _screen(made: list[Booking], band: str, matched: bool, rng: random.Random) -> int:
    """A PHQ-9 after the first and the latest completed session (two or more): 1 if
    answered."""
    done = [row for row in made if row.status == "completed"]
    if len(done) < 2:
        return 0
    phq9 = scoring.get_instrument("phq9")
    chance = IMPROVES[band] * (1 if matched else IMPROVES_IN_OTHER_LANGUAGE)
    baseline = rng.randint(10, 21)
    if rng.random() < chance:
        latest = max(0, baseline - rng.randint(6, 10))
    else:
        latest = min(24, max(0, baseline + rng.randint(-4, 3)))
    for row, total in ((done[0], baseline), (done[-1], latest)):
        submit.submit_screening(
            client_id=int(row.client_id or 0),
            instrument="phq9",
            answers=answers_for(phq9, total),
            is_intake=row is done[0],
            now=row.end_at + timedelta(minutes=10),
        )
    return 1


def _retire_past_messages(now: datetime) -> None:
    """The simulated past's invites and reminders would otherwise all be sent at start-up."""
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.status == "pending", OutboxMessage.due_at < now)
        .values(status="expired")
    )
    db.session.commit()
