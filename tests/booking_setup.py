"""Test helpers for booking: a therapist's availability written straight through the models."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time
from typing import Any

from teletherapy.extensions import db
from teletherapy.models import (
    AvailabilityOverride,
    AvailabilityRule,
    AvailabilitySettings,
    Role,
    TherapistProfile,
    User,
)
from teletherapy.services.accounts.users import hash_password
from teletherapy.services.matching.profiles import (
    ProfileChanges,
    update_therapist_profile,
    verify_licence,
)

WEEKDAYS = range(5)
_FAST_HASH: dict[str, str] = {}


def set_availability(
    therapist: User,
    *,
    time_zone: str = "America/New_York",
    rules: Iterable[tuple[int, str, str, str]] | None = None,
    **settings: Any,
) -> int:
    """Weekly rules (weekday, "09:00", "17:00", setting); default Mon-Fri 09-17 online.

    Returns the therapist profile id.
    """
    profile = therapist.therapist
    assert profile is not None
    make_bookable(profile.id)
    db.session.add(AvailabilitySettings(therapist_id=profile.id, time_zone=time_zone, **settings))
    for weekday, start, end, setting in rules or [
        (d, "09:00", "17:00", "online") for d in WEEKDAYS
    ]:
        db.session.add(
            AvailabilityRule(
                therapist_id=profile.id,
                weekday=weekday,
                start_time=time.fromisoformat(start),
                end_time=time.fromisoformat(end),
                setting=setting,
            )
        )
    db.session.commit()
    return profile.id


def make_bookable(therapist_id: int) -> None:
    """A verified profile that matching shows to a New York City client in every setting.

    Booking applies matching's hard filters, so a therapist under test needs a
    licence where the client lives, a fee for every band and a verified licence.
    """
    profile = db.session.get(TherapistProfile, therapist_id)
    assert profile is not None
    update_therapist_profile(
        therapist_id=therapist_id,
        changes=ProfileChanges(
            display_name=profile.display_name,
            license_type="LCSW",
            license_number=f"NY-{therapist_id}",
            license_state="NY",
            accepting_new_clients=profile.accepting_new_clients,
            languages=("en",),
            age_groups=("adults",),
            licence_states=("NJ",),
            online_states=("NY", "NJ"),
            office_zip="10027",
            home_zip="10027",
            home_radius_km=25,
            fees={"a": 3000, "b": 5000, "c": 8000, "d": 15000},
        ),
    )
    verify_licence(therapist_id=therapist_id, now=datetime(2026, 1, 1, tzinfo=UTC))


def add_override(
    therapist_id: int, on: date, start: str | None, end: str | None, setting: str | None
) -> None:
    db.session.add(
        AvailabilityOverride(
            therapist_id=therapist_id,
            on_date=on,
            is_available=start is not None,
            start_time=time.fromisoformat(start) if start else None,
            end_time=time.fromisoformat(end) if end else None,
            setting=setting,
        )
    )
    db.session.commit()


def set_accepting(therapist_id: int, accepting: bool) -> None:
    profile = db.session.get(TherapistProfile, therapist_id)
    assert profile is not None
    profile.accepting_new_clients = accepting
    db.session.commit()


def quick_clients(count: int, *, prefix: str = "c") -> list[int]:
    """Many client accounts at once (no argon2 per user); they cannot sign in."""
    if "hash" not in _FAST_HASH:
        _FAST_HASH["hash"] = hash_password("not-used-for-sign-in")
    users = [
        User(
            email=f"{prefix}{i}@example.org",
            password_hash=_FAST_HASH["hash"],
            role=Role.CLIENT.value,
            display_name=f"Client {i}",
            state="NY",
            zip="10027",
        )
        for i in range(count)
    ]
    db.session.add_all(users)
    db.session.commit()
    return [u.id for u in users]
