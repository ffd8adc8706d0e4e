"""Deterministic demo data: the accounts DESIGN.md names, and many realistic others."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import func, insert, select

from teletherapy.clock import utcnow
from teletherapy.demo.availability import seed_demo_availability
from teletherapy.demo.equity import seed_demo_equity
from teletherapy.demo.screening import seed_demo_screenings, weekly_session_start
from teletherapy.extensions import db
from teletherapy.models import ClientProfile, TherapistProfile, User
from teletherapy.services.accounts.users import hash_password

DEMO_PASSWORD = "demo-pass-123"
BATCH = 2000

FIRST_NAMES = [
    "Ana", "Luis", "María", "José", "Wei", "Mei", "Jin", "Hyun-woo", "Ji-yeon", "Aisha", "Omar",
    "Fatima", "Yusuf", "Priya", "Arjun", "Ananya", "Rohan", "Nguyen", "Linh", "Thanh", "Kwame",
    "Ama", "Chidi", "Ngozi", "Jamal", "Keisha", "Darnell", "Tamika", "Sofia", "Mateo", "Camila",
    "Diego", "Olga", "Dmitri", "Katarzyna", "Tomasz", "Rachel", "David", "Miriam", "Samuel",
    "Emily", "James", "Sarah", "Michael", "Hannah", "Noah", "Leilani", "Kai", "Ayasha", "Tala",
    "Marisol", "Rafael", "Guadalupe", "Jean", "Mirlande", "Rose", "Farah", "Hassan", "Layla",
    "Mohammed", "Zainab", "Abdi", "Hodan", "Marisa", "Joaquín", "Tenzin", "Bao", "Minh",
]  # fmt: skip
LAST_NAMES = [
    "García", "Rodríguez", "Hernández", "López", "Martínez", "Chen", "Wang", "Li", "Zhang", "Kim",
    "Park", "Lee", "Khan", "Ahmed", "Ali", "Patel", "Shah", "Singh", "Nguyen", "Tran", "Pham",
    "Mensah", "Okafor", "Adeyemi", "Johnson", "Williams", "Brown", "Jackson", "Davis", "Rossi",
    "Kowalski", "Nowak", "Ivanova", "Petrov", "Cohen", "Levi", "Friedman", "Smith", "Miller",
    "Wilson", "Kealoha", "Begay", "Yazzie", "Jean-Baptiste", "Pierre", "Haddad", "Nasser",
    "Mohamed", "Hassan", "Warsame", "Ramírez", "Flores", "Torres", "Dorjee", "Santos", "Reyes",
]  # fmt: skip

NYC_ZIPS = [
    "10027",
    "10025",
    "10031",
    "10452",
    "10458",
    "11201",
    "11211",
    "11220",
    "11372",
    "11373",
    "10002",
    "10011",
    "10034",
    "11226",
    "11368",
    "10463",
    "11354",
    "10301",
]

# States with big and varied populations first; weights roughly follow population.
STATE_WEIGHTS = {
    "CA": 12, "TX": 9, "FL": 7, "NY": 7, "PA": 4, "IL": 4, "OH": 3, "GA": 3, "NC": 3, "MI": 3,
    "NJ": 3, "VA": 3, "WA": 2, "AZ": 2, "MA": 2, "TN": 2, "IN": 2, "MD": 2, "MO": 2, "WI": 2,
    "CO": 2, "MN": 2, "SC": 1, "AL": 1, "LA": 1, "KY": 1, "OR": 1, "OK": 1, "CT": 1, "UT": 1,
    "NM": 1, "HI": 1, "PR": 1, "DC": 1, "NV": 1, "IA": 1,
}  # fmt: skip

STATE_ZONES = {
    "CA": "America/Los_Angeles", "WA": "America/Los_Angeles", "OR": "America/Los_Angeles",
    "NV": "America/Los_Angeles", "AZ": "America/Phoenix", "CO": "America/Denver",
    "UT": "America/Denver", "NM": "America/Denver", "TX": "America/Chicago",
    "IL": "America/Chicago", "MN": "America/Chicago", "WI": "America/Chicago",
    "MO": "America/Chicago", "IA": "America/Chicago", "AL": "America/Chicago",
    "LA": "America/Chicago", "OK": "America/Chicago", "TN": "America/Chicago",
    "HI": "Pacific/Honolulu", "PR": "America/Puerto_Rico", "KY": "America/New_York",
    "IN": "America/Indiana/Indianapolis",
}  # fmt: skip

LICENSE_TYPES = ["LCSW", "LMHC", "LPC", "LMFT", "PsyD", "PhD", "LCPC", "LPCC"]

NEIGHBOURS = {
    "NY": ["NJ", "CT", "PA"], "NJ": ["NY", "PA"], "CA": ["NV", "OR"], "TX": ["NM", "OK"],
    "FL": ["GA"], "IL": ["IN", "WI"], "MA": ["RI", "NH", "CT"], "WA": ["OR"],
}  # fmt: skip


@lru_cache(maxsize=64)
def zips_for_state(state: str) -> tuple[str, ...]:
    import zipcodes

    rows = zipcodes.filter_by(state=state, zip_code_type="STANDARD", active=True)
    return tuple(sorted(r["zip_code"] for r in rows)) or ("10027",)


@dataclass(frozen=True)
class DemoTherapist:
    index: int
    email: str
    name: str
    state: str
    zip: str
    time_zone: str
    rng_seed: int


@dataclass(frozen=True)
class DemoClient:
    index: int
    email: str
    name: str
    state: str
    zip: str
    time_zone: str


def database_is_empty() -> bool:
    return not db.session.scalar(select(func.count()).select_from(User))


def _name(rng: random.Random) -> str:
    return f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"


def _place(rng: random.Random) -> tuple[str, str]:
    states = list(STATE_WEIGHTS)
    state = rng.choices(states, weights=[STATE_WEIGHTS[s] for s in states])[0]
    return state, rng.choice(zips_for_state(state))


def demo_therapists(count: int, seed: int) -> Iterator[DemoTherapist]:
    rng = random.Random(f"therapists-{seed}")
    for i in range(1, count + 1):
        if i <= 5:  # DESIGN.md: New York City, licensed in NY and NJ
            state, zip_code = "NY", NYC_ZIPS[(i - 1) % len(NYC_ZIPS)]
        else:
            state, zip_code = _place(rng)
        yield DemoTherapist(
            index=i,
            email=f"therapist{i}@demo.test",
            name=_name(rng),
            state=state,
            zip=zip_code,
            time_zone=STATE_ZONES.get(state, "America/New_York"),
            rng_seed=rng.randrange(2**31),
        )


def demo_clients(count: int, seed: int) -> Iterator[DemoClient]:
    rng = random.Random(f"clients-{seed}")
    for i in range(1, count + 1):
        if i <= 10:  # DESIGN.md: New York City
            state, zip_code = "NY", NYC_ZIPS[(i * 7) % len(NYC_ZIPS)]
        else:
            state, zip_code = _place(rng)
        yield DemoClient(
            index=i,
            email=f"client{i}@demo.test",
            name=_name(rng),
            state=state,
            zip=zip_code,
            time_zone=STATE_ZONES.get(state, "America/New_York"),
        )


def _chunks(items: Iterator[Any], size: int) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


# What each batch of demo therapists gets, in order; a step receives the therapists
# of one batch with their new profile ids (see `therapist_steps`).
TherapistStep = Callable[[list[tuple[DemoTherapist, int]]], None]


def _payment_settings_step(batch: list[tuple[DemoTherapist, int]]) -> None:
    """Demo therapists take cards (when Stripe is set up) and payment at the session."""
    from teletherapy.models import TherapistPaymentSettings

    db.session.execute(
        insert(TherapistPaymentSettings),
        [
            {
                "therapist_id": profile_id,
                "accepts_pay_now": True,
                "accepts_card_on_file": t.index % 2 == 1,
                "accepts_pay_at_session": True,
                "late_cancel_fee_cents": (0, 2000, 2500, 4000)[t.rng_seed % 4],
                "waive_first_late_cancel": True,
            }
            for t, profile_id in batch
        ],
    )


def therapist_steps() -> list[TherapistStep]:
    """The explicit list of steps for each batch of demo therapists."""
    from teletherapy.demo.matching import seed_matching_profiles

    return [
        seed_demo_availability,  # hours, session length, rules
        _payment_settings_step,  # ways to pay and late-cancel fees
        seed_matching_profiles,  # licences, settings, tags, fees by band
        _demo_groups,  # a weekly group for therapists 1-3 (meetings via the lifecycle)
        _openings_step,  # next openings stored when the batch commits
    ]


def seed_demo(
    *, therapists: int, clients: int, seed: int, progress: Callable[[int], None] | None = None
) -> dict[str, int]:
    """Insert demo users in bulk (one password hash shared by every demo account)."""
    now = utcnow()
    password_hash = hash_password(DEMO_PASSWORD)
    if db.session.scalar(select(User.id).where(User.email == "admin@demo.test")) is None:
        db.session.execute(
            insert(User),
            [
                {
                    "email": "admin@demo.test",
                    "password_hash": password_hash,
                    "role": "admin",
                    "status": "active",
                    "display_name": "Demo Administrator",
                    "time_zone": "America/New_York",
                    "language": "en",
                    "created_at": now,
                }
            ],
        )
    for batch in _chunks(demo_therapists(therapists, seed), BATCH):
        user_ids = db.session.scalars(
            insert(User).returning(User.id, sort_by_parameter_order=True),
            [
                {
                    "email": t.email,
                    "password_hash": password_hash,
                    "role": "therapist",
                    "status": "active",
                    "display_name": t.name,
                    "time_zone": t.time_zone,
                    "language": "en",
                    "state": t.state,
                    "zip": t.zip,
                    "created_at": now,
                }
                for t in batch
            ],
        ).all()
        profile_ids = db.session.scalars(
            insert(TherapistProfile).returning(TherapistProfile.id, sort_by_parameter_order=True),
            [
                {
                    "user_id": uid,
                    "display_name": t.name,
                    "bio": f"{t.name.split()[0]} is a licensed therapist in {t.state}.",
                    "license_type": LICENSE_TYPES[t.rng_seed % len(LICENSE_TYPES)],
                    "license_number": f"{t.state}-{100000 + t.index}",
                    "license_state": t.state,
                    "npi": f"{1000000000 + t.index}",
                    "verified_at": now,
                    "accepting_new_clients": True,
                    "created_at": now,
                }
                for t, uid in zip(batch, user_ids, strict=True)
            ],
        ).all()
        for step in therapist_steps():
            step(list(zip(batch, profile_ids, strict=True)))
        db.session.commit()
        if progress:
            progress(len(batch))
    for batch in _chunks(demo_clients(clients, seed), BATCH):
        user_ids = db.session.scalars(
            insert(User).returning(User.id, sort_by_parameter_order=True),
            [
                {
                    "email": c.email,
                    "password_hash": password_hash,
                    "role": "client",
                    "status": "active",
                    "display_name": c.name,
                    "time_zone": c.time_zone,
                    "language": "en",
                    "state": c.state,
                    "zip": c.zip,
                    "created_at": now,
                }
                for c in batch
            ],
        ).all()
        db.session.execute(
            insert(ClientProfile), [{"user_id": uid, "created_at": now} for uid in user_ids]
        )
        db.session.commit()
        if progress:
            progress(len(batch))
    seed_demo_sessions(now=now, therapists=min(therapists, 5), clients=min(clients, 10))
    seed_demo_screenings(now=now, therapists=min(therapists, 5), clients=min(clients, 10))
    if therapists >= 60 and clients >= 30:  # the `make run` demo (the default size) or larger
        seed_demo_equity(now=now, seed=seed)
    return {"therapists": therapists, "clients": clients}


def seed_demo_sessions(*, now: datetime, therapists: int, clients: int) -> int:
    """Sessions between demo clients 1-10 and therapists 1-5: a few past, a few upcoming.

    Upcoming ones go through the booking service (so invites and reminders exist as
    for any booking); past ones through the lifecycle as completed sessions, at the
    therapist's price for the client's band.
    """
    from datetime import timedelta

    from teletherapy.models import TherapistProfile
    from teletherapy.services import bookings as booking
    from teletherapy.services.bookings import lifecycle
    from teletherapy.services.matching.search import price_for_client

    made = 0
    for i in range(1, clients + 1):
        client = db.session.scalar(select(User).where(User.email == f"client{i}@demo.test"))
        user = (
            db.session.scalar(
                select(User).where(User.email == f"therapist{(i - 1) % therapists + 1}@demo.test")
            )
            if therapists
            else None
        )
        if client is None or user is None:
            continue
        profile = db.session.scalar(
            select(TherapistProfile).where(TherapistProfile.user_id == user.id)
        )
        if profile is None:
            continue
        slot = (i - 1) // max(therapists, 1)  # the same weekly hour as their older history
        starts = [
            weekly_session_start(now, weeks_ago=weeks, time_zone=user.time_zone, slot=slot)
            for weeks in (2, 1)
        ]
        fee_cents, fee_band = price_for_client(therapist_id=profile.id, client_id=client.id)
        lifecycle.add_past_sessions(
            therapist_id=profile.id,
            client_id=client.id,
            sessions=[
                lifecycle.NewSession(
                    start=start,
                    end=start + timedelta(minutes=50),
                    setting="online",
                    time_zone=user.time_zone,
                    buffer_minutes=10,
                    travel_buffer_minutes=0,
                )
                for start in starts
            ],
            fee_cents=fee_cents,
            fee_band=fee_band,
            now=now,
        )
        db.session.commit()
        slots = booking.list_slots(
            therapist_id=profile.id,
            from_date=(now + timedelta(days=1)).date(),
            to_date=(now + timedelta(days=14)).date(),
            setting="online",
            now=now,
            is_new_client=False,
        )
        if len(slots) > i:
            booking.book_session(
                client_id=client.id,
                therapist_id=profile.id,
                start=slots[i].start,
                setting="online",
                now=now,
            )
            made += 1
    return made


DEMO_GROUPS = [
    ("Parents' circle (en español)", "group", 8, 1500),
    ("Mindfulness for everyday stress", "mindfulness", 10, 2000),
    ("DBT skills group", "dbt", 6, 2500),
]


def _demo_groups(batch: list[tuple[DemoTherapist, int]]) -> None:
    """Demo therapists 1-3 each run a weekly online group on Saturdays at 10:00 local."""
    from datetime import time, timedelta
    from zoneinfo import ZoneInfo

    from teletherapy.domain.availability import local_to_utc
    from teletherapy.models import TherapyGroup
    from teletherapy.services.bookings import lifecycle
    from teletherapy.services.groups.groups import plan_meetings

    today = utcnow().date()
    saturday = today + timedelta(days=7 + (5 - today.weekday()) % 7)
    for therapist, profile_id in batch:
        if therapist.index > len(DEMO_GROUPS):
            continue
        title, modality, capacity, fee_cents = DEMO_GROUPS[therapist.index - 1]
        first = local_to_utc(saturday, time(10), ZoneInfo(therapist.time_zone))
        meetings = plan_meetings(
            first_start=first,
            duration_minutes=90,
            weekly_count=8,
            time_zone=therapist.time_zone,
            setting="online",
            buffer_minutes=10,
            travel_buffer_minutes=0,
        )
        group = TherapyGroup(
            therapist_id=profile_id,
            title=title,
            modality=modality,
            setting="online",
            capacity=capacity,
            seats_taken=0,
            fee_cents=fee_cents,
            currency="usd",
            description="A small weekly group. Come to every meeting if you can.",
            time_zone=therapist.time_zone,
            status="open",
            starts_at=meetings[0].start,
            ends_at=meetings[-1].end,
        )
        db.session.add(group)
        db.session.flush()
        lifecycle.add_group_meetings(
            group=group,
            meetings=[(m.start, m.end, m.blocked.start, m.blocked.end) for m in meetings],
            now=utcnow(),
        )


def _openings_step(batch: list[tuple[DemoTherapist, int]]) -> None:
    """Each demo therapist's next openings are stored when the batch commits."""
    from teletherapy.services.availability.openings import mark_calendar_changed

    for _, profile_id in batch:
        mark_calendar_changed(profile_id)
