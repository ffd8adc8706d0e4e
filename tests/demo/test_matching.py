"""Demo matching profiles: DESIGN.md's therapists 1-5, variety, determinism, searchable."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select

from teletherapy.demo.seed import seed_demo
from teletherapy.models import TherapistFee, TherapistProfile, TherapistTag
from teletherapy.services.matching.profiles import get_therapist_details
from teletherapy.services.matching.search import find_matches
from tests.matching_helpers import reseed_fee_tables


@pytest.fixture(autouse=True)
def seeded(app: Any) -> None:
    reseed_fee_tables()


def _snapshot(db: Any) -> tuple[list[Any], list[Any]]:
    tags = db.session.execute(
        select(TherapistTag.therapist_id, TherapistTag.kind, TherapistTag.code).order_by(
            TherapistTag.therapist_id, TherapistTag.kind, TherapistTag.code
        )
    ).all()
    fees = db.session.execute(
        select(TherapistFee.therapist_id, TherapistFee.band_code, TherapistFee.fee_cents).order_by(
            TherapistFee.therapist_id, TherapistFee.band_code
        )
    ).all()
    return [tuple(r) for r in tags], [tuple(r) for r in fees]


def test_design_therapists_1_to_5_offer_everything_in_new_york(db: Any) -> None:
    seed_demo(therapists=40, clients=2, seed=3)
    profiles = db.session.scalars(select(TherapistProfile).order_by(TherapistProfile.id)).all()
    for profile in profiles[:5]:
        details = get_therapist_details(profile.id)
        assert {"en", "es"} <= set(details.tags["language"])
        assert {"NY", "NJ"} <= set(details.tags["licence_state"])
        assert {"NY", "NJ"} <= set(details.tags["online_state"])
        assert profile.office_zip is not None and profile.office_zip.startswith("1")
        assert profile.home_zip == profile.office_zip and profile.home_radius_km
        assert set(details.fees) == {"a", "b", "c", "d"}
        assert (profile.reduced_fee_weekly_cap or 0) >= 5
    # The rest varies: not everyone speaks Spanish, offers every setting or accepts band a.
    rest = [get_therapist_details(p.id) for p in profiles[5:]]
    assert any("es" not in d.tags.get("language", []) for d in rest)
    assert any(d.profile.office_zip is None for d in rest)
    assert any("a" not in d.fees for d in rest)
    assert len({m for d in rest for m in d.tags.get("modality", [])}) >= 6


def test_every_demo_price_lies_in_its_band(db: Any) -> None:
    from teletherapy.domain.fees import DEFAULT_FEE_BANDS

    seed_demo(therapists=30, clients=0, seed=5)
    bands = {b.code: b for b in DEFAULT_FEE_BANDS}
    for _, code, cents in _snapshot(db)[1]:
        assert bands[code].min_cents <= cents <= bands[code].max_cents


def test_demo_profiles_are_deterministic(db: Any) -> None:
    seed_demo(therapists=15, clients=0, seed=9)
    first = _snapshot(db)
    db.session.execute(TherapistTag.__table__.delete())
    db.session.execute(TherapistFee.__table__.delete())
    from teletherapy.demo.matching import seed_matching_profiles
    from teletherapy.demo.seed import demo_therapists

    ids = db.session.scalars(select(TherapistProfile.id).order_by(TherapistProfile.id)).all()
    seed_matching_profiles(list(zip(demo_therapists(15, 9), ids, strict=True)))
    db.session.commit()
    assert _snapshot(db) == first


def test_a_nyc_client_finds_the_design_therapists_online_in_spanish(db: Any, now: datetime) -> None:
    seed_demo(therapists=12, clients=0, seed=1)
    search = find_matches(
        request_payload={
            "setting": "online",
            "state": "NY",
            "zip": "10027",
            "languages": [{"code": "es", "required": True}],
            "fee_band": "a",
        },
        client_id=None,
        now=now,
    )
    first_five = set(
        db.session.scalars(select(TherapistProfile.id).order_by(TherapistProfile.id).limit(5))
    )
    assert first_five <= {m.therapist["id"] for m in search.matches}
