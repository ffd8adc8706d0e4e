"""Administrators' licence, fee-band and poverty-guideline pages (/admin/*)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select

from teletherapy.extensions import db
from teletherapy.models import FeeBandRow, PovertyGuidelineRow, TherapistProfile
from tests.matching_helpers import make_therapist, reseed_fee_tables


@pytest.fixture(autouse=True)
def seeded(app: Any) -> None:
    reseed_fee_tables()


def test_an_admin_verifies_a_licence(
    client: Any, login: Any, make_user: Any, now: datetime
) -> None:
    waiting = make_therapist(make_user, now, "Wanda Waiting", verified=False)
    login(make_user("admin"))
    assert "Wanda Waiting" in client.get("/admin/licences").get_data(as_text=True)
    assert client.post(f"/admin/licences/{waiting}/verify").status_code == 302
    assert db.session.get(TherapistProfile, waiting).verified_at is not None  # type: ignore[union-attr]
    assert client.get(f"/therapists/{waiting}").status_code == 200


def test_an_admin_edits_a_band_and_the_guideline(client: Any, login: Any, make_user: Any) -> None:
    login(make_user("admin"))
    page = client.get("/admin/fee-bands")
    assert page.status_code == 200
    data: dict[str, str] = {}
    rows = [("a", "Lowest", "10", "40", "150"), ("b", "Reduced", "30", "70", "250")]
    rows += [("c", "Moderate", "60", "110", "400"), ("d", "Standard fee", "100", "220", "")]
    for i, (code, label, low, high, ceiling) in enumerate(rows):
        data |= {
            f"bands-{i}-code": code,
            f"bands-{i}-band_label": label,
            f"bands-{i}-min_dollars": low,
            f"bands-{i}-max_dollars": high,
            f"bands-{i}-max_fpl_percent": ceiling,
        }
    assert client.post("/admin/fee-bands", data=data).status_code == 302
    assert db.session.get(FeeBandRow, "d").max_cents == 22000  # type: ignore[union-attr]
    bad = {**data, "bands-3-max_fpl_percent": "500"}
    response = client.post("/admin/fee-bands", data=bad, follow_redirects=False)
    assert response.status_code == 200
    assert "Exactly one band must have no income ceiling" in response.get_data(as_text=True)
    guideline = {"year": "2026", "first_person_dollars": "16200", "each_additional_dollars": "5700"}
    assert client.post("/admin/poverty-guideline", data=guideline).status_code == 302
    stored = db.session.scalar(select(PovertyGuidelineRow).where(PovertyGuidelineRow.year == 2026))
    assert stored is not None and stored.first_person_cents == 1_620_000
