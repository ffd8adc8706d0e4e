"""Helpers for matching tests: verified therapists with a profile, sessions this week."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from teletherapy.domain.fees import DEFAULT_FEE_BANDS, DEFAULT_POVERTY_GUIDELINE
from teletherapy.extensions import db
from teletherapy.models import Booking, FeeBandRow, PovertyGuidelineRow, User
from teletherapy.services.matching.profiles import (
    ProfileChanges,
    update_therapist_profile,
    verify_licence,
)

ALL_FEES = {"a": 3000, "b": 5000, "c": 8000, "d": 15000}


def reseed_fee_tables() -> None:
    """Put back the rows 0007_matching seeds (conftest truncates every table on PostgreSQL)."""
    if not db.session.scalar(select(func.count()).select_from(FeeBandRow)):
        for order, band in enumerate(DEFAULT_FEE_BANDS, start=1):
            db.session.add(
                FeeBandRow(
                    code=band.code,
                    label=band.label,
                    min_cents=band.min_cents,
                    max_cents=band.max_cents,
                    max_fpl_percent=band.max_fpl_percent,
                    sort_order=order,
                )
            )
    if not db.session.scalar(select(func.count()).select_from(PovertyGuidelineRow)):
        g = DEFAULT_POVERTY_GUIDELINE
        db.session.add(
            PovertyGuidelineRow(
                year=g.year,
                first_person_cents=g.first_person_cents,
                each_additional_cents=g.each_additional_cents,
            )
        )
    db.session.commit()


def make_therapist(
    make_user: Callable[..., User],
    now: datetime,
    name: str,
    *,
    verified: bool = True,
    **fields: Any,
) -> int:
    """A therapist licensed in NY, English-speaking, seeing adults, every band, unless told."""
    user = make_user("therapist", display_name=name)
    assert user.therapist is not None
    values: dict[str, Any] = {
        "display_name": name,
        "license_type": "LCSW",
        "license_number": f"NY-{user.id}",
        "license_state": "NY",
        "languages": ("en",),
        "age_groups": ("adults",),
        "fees": ALL_FEES,
        **fields,
    }
    therapist_id = user.therapist.id
    update_therapist_profile(therapist_id=therapist_id, changes=ProfileChanges(**values))
    if verified:
        verify_licence(therapist_id=therapist_id, now=now - timedelta(days=30))
    return therapist_id


def book(
    therapist_id: int,
    client_id: int,
    start: datetime,
    *,
    fee_band: str = "d",
    status: str = "confirmed",
    setting: str = "online",
) -> None:
    """A session on the therapist's calendar (written directly: booking is not ours)."""
    end = start + timedelta(minutes=50)
    db.session.add(
        Booking(
            therapist_id=therapist_id,
            client_id=client_id,
            status=status,
            setting=setting,
            start_at=start,
            end_at=end,
            blocked_start_at=start,
            blocked_end_at=end + timedelta(minutes=10),
            time_zone="America/New_York",
            fee_band=fee_band,
            fee_cents=3000,
        )
    )
    db.session.commit()
