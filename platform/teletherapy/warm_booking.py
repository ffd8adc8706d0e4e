"""A worker's first booking, made at its start and rolled back (`app.warm_up`, PostgreSQL).

A worker's first booking cost ~104 ms against 25-38 ms for the next ones (in process, after
the rest of the warm-up): most of the difference is SQLAlchemy compiling the statements a
booking sends (the token's lookup, the ORM's `get`s, the price check's candidate read,
the INSERTs of the first flush), and only sending them fills that cache. So the warm-up
books once, through the API as a client would, inside one transaction that is rolled back
at the end: a therapist open every day, two clients (one wins the slot, one is refused),
each made for the purpose. Nothing of it stays in the database: its statements run on one
connection whose outer transaction is rolled back; the services' own commits only release
savepoints in it. What stays is ids taken from sequences (never handed out again) and the
engine's compiled statements. The limiter is off meanwhile (its counts may live in Redis).
Payments are not touched: the therapist takes no cards, so the booking is confirmed at once.

Any failure is logged and ignored: a worker that could not warm up still serves.
"""

from __future__ import annotations

import logging
import secrets
import threading
from datetime import UTC, datetime, time, timedelta
from typing import Any, cast

from flask import Flask
from sqlalchemy.orm import Session

from teletherapy.extensions import db, limiter

logger = logging.getLogger(__name__)

_STATE, _ZIP = "NY", "10027"


def warm_booking(app: Flask) -> bool:
    """Book once and refuse once through the API, then roll it all back; True when both
    answered as a booking does (201, then 409).

    It runs in a thread of its own: there no application context is active, so each of
    its requests pushes its own and gets a session on the warm-up's connection (a request
    made inside an active context would reuse that context's session, which commits)."""
    answer: list[bool] = []
    worker = threading.Thread(target=lambda: answer.append(_warm(app)), name="warm-booking")
    worker.start()
    worker.join()
    return bool(answer and answer[0])


def _warm(app: Flask) -> bool:
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            return False  # SQLite's writers are serialised anyway; its statements are few
        try:
            connection = db.engine.connect()
            outer = connection.begin()
        except Exception:  # the database is not there yet: the worker serves all the same
            logger.warning("the booking warm-up could not connect", exc_info=True)
            return False
    factory = db.session.registry.createfunc
    db.session.registry.createfunc = cast(
        Any, lambda: Session(bind=connection, join_transaction_mode="create_savepoint")
    )
    limited = limiter.enabled
    limiter.enabled = False
    try:
        with app.app_context():
            therapist_id, tokens = _parties()
        return _book_twice(app, therapist_id, tokens)
    except Exception:  # a worker that cannot warm up still serves
        logger.warning(
            "the booking warm-up failed; the first booking will be slower", exc_info=True
        )
        return False
    finally:
        limiter.enabled = limited
        with app.app_context():
            db.session.remove()
        db.session.registry.createfunc = factory
        outer.rollback()
        connection.close()


def _parties() -> tuple[int, list[str]]:
    """A verified therapist online in NY, open every day, and two clients with API tokens,
    made in the warm-up's transaction."""
    tag = secrets.token_hex(8)
    therapist_id = add_open_therapist(
        f"warm-up.{tag}@teletherapy.invalid", "Warm-up", "!", start=time(0), end=time(23, 30)
    )
    db.session.commit()
    list_online(therapist_id, state=_STATE, license_number=f"WARM-{tag}")
    tokens = [
        add_client(f"warm-up.{tag}.{i}@teletherapy.invalid", "Warm-up", "!", _STATE, _ZIP)
        for i in range(2)
    ]
    db.session.commit()
    return therapist_id, tokens


# --- parties that can book and be booked (also benchmarks/bench_booking.py's) ---------------


def add_open_therapist(
    email: str, display_name: str, password_hash: str, *, start: time, end: time
) -> int:
    """A therapist's account open every day from `start` to `end` online (one hour's
    notice), flushed, not committed: their profile's id. `password_hash` "!" matches no
    password."""
    from teletherapy.models import AvailabilityRule, AvailabilitySettings, TherapistProfile, User

    user = User(
        email=email, password_hash=password_hash, role="therapist", display_name=display_name
    )
    profile = TherapistProfile(user=user, display_name=display_name)
    db.session.add_all([user, profile])
    db.session.flush()
    db.session.add(AvailabilitySettings(therapist_id=profile.id, min_notice_hours=1))
    db.session.add_all(
        AvailabilityRule(
            therapist_id=profile.id, weekday=day, start_time=start, end_time=end, setting="online"
        )
        for day in range(7)
    )
    db.session.flush()
    return profile.id


def list_online(therapist_id: int, *, state: str, license_number: str) -> None:
    """What booking's hard filters ask of the therapist (a verified licence in the client's
    state, online there, a price in every band), through the profile services (commits)."""
    from teletherapy.services.matching.profiles import (
        ProfileChanges,
        update_therapist_profile,
        verify_licence,
    )

    update_therapist_profile(
        therapist_id=therapist_id,
        changes=ProfileChanges(
            display_name=f"Therapist {therapist_id}",
            license_type="LCSW",
            license_number=license_number,
            license_state=state,
            languages=("en",),
            age_groups=("adults",),
            online_states=(state,),
            fees={"a": 3000, "b": 5000, "c": 8000, "d": 15000},
        ),
    )
    verify_licence(therapist_id=therapist_id, now=datetime.now(UTC))


def add_client(email: str, display_name: str, password_hash: str, state: str, zip_code: str) -> str:
    """A client's account with an API token, flushed, not committed: the token."""
    from teletherapy.models import ApiToken, ClientProfile, User
    from teletherapy.services.accounts.users import token_digest

    user = User(
        email=email,
        password_hash=password_hash,
        role="client",
        display_name=display_name,
        state=state,
        zip=zip_code,
    )
    db.session.add(user)
    db.session.flush()
    token = f"tt_{secrets.token_urlsafe(24)}"
    db.session.add_all(
        [ClientProfile(user_id=user.id), ApiToken(user_id=user.id, token_hash=token_digest(token))]
    )
    return token


def _book_twice(app: Flask, therapist_id: int, tokens: list[str]) -> bool:
    client = app.test_client()
    tomorrow = datetime.now(UTC).date() + timedelta(days=1)
    found = client.get(
        f"/api/v1/therapists/{therapist_id}/slots",
        query_string={
            "from": tomorrow.isoformat(),
            "to": (tomorrow + timedelta(days=1)).isoformat(),
            "setting": "online",
        },
    )
    slots: list[dict[str, Any]] = (found.get_json(silent=True) or {}).get("slots") or []
    if not slots:
        logger.warning("the booking warm-up found no slot (%s)", found.status_code)
        return False
    body = {"therapist_id": therapist_id, "start": slots[0]["start"], "setting": "online"}
    answers = [
        client.post(
            "/api/v1/bookings", json=body, headers={"Authorization": f"Bearer {token}"}
        ).status_code
        for token in tokens
    ]
    if answers != [201, 409]:
        logger.warning("the booking warm-up answered %s, not [201, 409]", answers)
        return False
    return True
