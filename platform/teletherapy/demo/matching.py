"""Demo matching profiles: tags, settings, licences and sliding-scale fees, in bulk."""

from __future__ import annotations

import functools
import random
from typing import Any

from sqlalchemy import insert, update

from teletherapy.demo.seed import NEIGHBOURS, DemoTherapist
from teletherapy.domain import vocabularies as vocab
from teletherapy.domain.fees import FeeBand
from teletherapy.extensions import db
from teletherapy.models import TherapistFee, TherapistProfile, TherapistTag
from teletherapy.services.matching.fee_bands import list_fee_bands

# Rough shares in US practice; CBT is by far the most common.
MODALITY_WEIGHTS = {
    "cbt": 30, "psychotherapy": 20, "mindfulness": 12, "act": 10, "dbt": 8,
    "psychodynamic": 8, "family_systems": 7, "emdr": 6, "motivational_interviewing": 6,
    "group": 4, "art": 3, "music": 2, "occupational": 1, "medication_management": 2,
}  # fmt: skip
CONCERN_WEIGHTS = {
    "anxiety": 30, "depression": 28, "stress": 16, "trauma": 15, "relationships": 12,
    "life_transitions": 10, "grief": 9, "family_conflict": 8, "identity": 7,
    "substance_use": 7, "parenting": 6, "adhd": 5, "immigration_stress": 4, "ocd": 3,
    "eating": 3, "bipolar": 3,
}  # fmt: skip
SPANISH_STATES = {"CA", "TX", "FL", "NY", "NJ", "AZ", "NM", "NV", "IL", "CO"}
# Other languages and the cultural communities that often come with them.
LANGUAGE_CULTURES = {
    "zh": "east_asian", "ko": "east_asian", "vi": "southeast_asian", "tl": "southeast_asian",
    "hi": "south_asian", "bn": "south_asian", "ur": "south_asian", "ar": "middle_eastern",
    "ht": "caribbean", "fr": "african", "so": "african", "ru": "eastern_european",
    "pl": "eastern_european", "pt": "latin_american", "yi": "jewish", "asl": "deaf",
}  # fmt: skip
OTHER_CULTURES = ["african_american", "lgbtq", "veteran", "immigrant_refugee", "muslim", "jewish"]
BAND_ACCEPTANCE = (0.4, 0.6, 0.8)  # chance of accepting each reduced band, lowest first
DESIGN_THERAPISTS = 5  # DESIGN.md: therapists 1-5 practise in NYC with every setting and band


@functools.lru_cache(maxsize=1)
def _zip_points() -> dict[str, tuple[float, float]]:
    """Every ZIP centroid at once (one pass over the package instead of one per lookup)."""
    import zipcodes

    return {
        row["zip_code"]: (float(row["lat"]), float(row["long"]))
        for row in zipcodes.list_all()
        if row.get("lat") and row.get("long")
    }


def _pick(rng: random.Random, weights: dict[str, int], low: int, high: int) -> list[str]:
    codes, chosen = list(weights), set[str]()
    count = rng.randint(low, high)
    while len(chosen) < count:
        chosen.add(rng.choices(codes, weights=[weights[c] for c in codes])[0])
    return sorted(chosen)


def _price(rng: random.Random, band: FeeBand) -> int:
    """A price inside the band, in whole $5 steps."""
    steps = (band.max_cents - band.min_cents) // 500
    return band.min_cents + 500 * rng.randint(0, steps)


def _profile(
    t: DemoTherapist, profile_id: int, bands: list[FeeBand]
) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    rng = random.Random(t.rng_seed * 7919 + 17)
    special = t.index <= DESIGN_THERAPISTS
    point = _zip_points().get(t.zip)
    languages = {"en"}
    if special or (t.state in SPANISH_STATES and rng.random() < 0.35) or rng.random() < 0.08:
        languages.add("es")
    if t.state == "PR":
        languages.add("es")
    cultures: set[str] = set()
    if "es" in languages and rng.random() < 0.6:
        cultures.add("latin_american")
    if rng.random() < 0.15:
        other = rng.choice(sorted(LANGUAGE_CULTURES))
        languages.add(other)
        cultures.add(LANGUAGE_CULTURES[other])
    if rng.random() < 0.3:
        cultures.add(rng.choice(OTHER_CULTURES))
    ages = {"adults"} if special or rng.random() < 0.92 else set()
    for group, chance in (("adolescents", 0.35), ("children", 0.2), ("older_adults", 0.3)):
        if rng.random() < chance:
            ages.add(group)
    ages = ages or {"adults"}
    licences = {t.state}
    if special:
        licences.add("NJ")
    elif t.state in NEIGHBOURS and rng.random() < 0.25:
        licences.add(rng.choice(NEIGHBOURS[t.state]))
    online = special or rng.random() < 0.85
    office = point is not None and (special or rng.random() < 0.6)
    home = point is not None and (special or rng.random() < 0.15)
    if not (online or office or home):
        online = True
    accepted = [
        b
        for i, b in enumerate(bands)
        if special or not b.is_reduced or rng.random() < BAND_ACCEPTANCE[min(i, 2)]
    ]
    reduced = any(b.is_reduced for b in accepted)
    values = {
        "id": profile_id,
        "gender": rng.choices(list(vocab.GENDERS), weights=[60, 36, 4])[0],
        "faith_integrated": rng.random() < 0.1,
        "lgbtq_affirming": rng.random() < 0.35,
        "offers_individual": True,
        "offers_group": rng.random() < 0.15,
        "office_zip": t.zip if office else None,
        "office_lat": point[0] if office and point else None,
        "office_lon": point[1] if office and point else None,
        "home_zip": t.zip if home else None,
        "home_lat": point[0] if home and point else None,
        "home_lon": point[1] if home and point else None,
        "home_radius_km": float(rng.choice((5, 8, 10, 15, 20, 30))) if home else None,
        "reduced_fee_weekly_cap": (max(5, rng.randint(2, 10)) if special else rng.randint(2, 10))
        if reduced
        else None,
    }
    tags: dict[str, set[str]] = {
        "modality": set(_pick(rng, MODALITY_WEIGHTS, 1, 4)),
        "concern": set(_pick(rng, CONCERN_WEIGHTS, 2, 6)),
        "language": languages,
        "culture": cultures,
        "age_group": ages,
        "licence_state": licences,
        "online_state": licences if online else set(),
    }
    tag_rows = [
        {"therapist_id": profile_id, "kind": kind, "code": code}
        for kind, codes in tags.items()
        for code in sorted(codes)
    ]
    fee_rows = [
        {"therapist_id": profile_id, "band_code": b.code, "fee_cents": _price(rng, b)}
        for b in accepted
    ]
    return values, tag_rows, fee_rows


def seed_matching_profiles(batch: list[tuple[DemoTherapist, int]]) -> None:
    """One bulk UPDATE of the profiles and two bulk INSERTs (tags, fees) per batch."""
    bands = list_fee_bands()
    profiles, tags, fees = [], [], []
    for therapist, profile_id in batch:
        values, tag_rows, fee_rows = _profile(therapist, profile_id, bands)
        profiles.append(values)
        tags.extend(tag_rows)
        fees.extend(fee_rows)
    if profiles:
        db.session.execute(update(TherapistProfile), profiles)
    if tags:
        db.session.execute(insert(TherapistTag), tags)
    if fees:
        db.session.execute(insert(TherapistFee), fees)
