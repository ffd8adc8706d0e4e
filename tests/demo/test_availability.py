"""Demo availability: valid for everyone, every setting for therapists 1-5, deterministic."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

from flask import Flask
from sqlalchemy import func, select

from teletherapy.demo.availability import nyc_week, varied_week
from teletherapy.demo.seed import demo_therapists
from teletherapy.domain.availability import (
    AvailabilitySettings,
    WeeklyRule,
    validate_availability,
)
from teletherapy.models import AvailabilityRule, TherapistProfile, User
from teletherapy.models import AvailabilitySettings as SettingsRow
from teletherapy.services.availability.rules import get_availability, next_openings

NOW = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)


def test_every_generated_week_passes_validation() -> None:
    weeks = [nyc_week(i) for i in range(1, 6)]
    weeks += [varied_week(random.Random(seed)) for seed in range(2000)]
    for week in weeks:
        assert week
        validate_availability(
            AvailabilitySettings(time_zone="America/New_York"),
            [WeeklyRule(*window) for window in week],
        )


def test_generated_weeks_are_varied_and_deterministic() -> None:
    first = [varied_week(random.Random(seed)) for seed in range(50)]
    assert first == [varied_week(random.Random(seed)) for seed in range(50)]
    assert len({tuple(week) for week in first}) > 40
    settings = {window[3] for week in first for window in week}
    assert settings == {"online", "in_office", "home"}


def test_seeded_therapists_have_availability_in_their_zone(app: Flask, db: Any) -> None:
    result = app.test_cli_runner().invoke(
        args=["seed-demo", "--therapists", "12", "--clients", "1", "--seed", "3"]
    )
    assert result.exit_code == 0, result.output
    ids = db.session.scalars(select(TherapistProfile.id).order_by(TherapistProfile.id)).all()
    assert db.session.scalar(select(func.count()).select_from(SettingsRow)) == len(ids) == 12
    assert db.session.scalar(select(func.count()).select_from(AvailabilityRule)) > 12 * 5
    zones = {t.email: t.time_zone for t in demo_therapists(12, 3)}
    for profile_id, email in db.session.execute(
        select(TherapistProfile.id, User.email).join(User, User.id == TherapistProfile.user_id)
    ):
        assert get_availability(therapist_id=profile_id)["time_zone"] == zones[email]

    first_five = db.session.scalars(
        select(TherapistProfile.id)
        .join(User, User.id == TherapistProfile.user_id)
        .where(User.email.in_([f"therapist{i}@demo.test" for i in range(1, 6)]))
    ).all()
    assert len(first_five) == 5
    for setting in ("online", "in_office", "home"):
        openings = next_openings(therapist_ids=first_five, setting=setting, now=NOW)
        assert all(opening is not None for opening in openings.values()), setting
