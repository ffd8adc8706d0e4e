"""Therapist profiles: a therapist's own edits, licence verification, the public profile
(its shape: shapes.py)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, or_, select

from teletherapy.domain import vocabularies as vocab
from teletherapy.domain.errors import NotFoundError, ValidationError
from teletherapy.domain.fees import find_band, validate_fee
from teletherapy.extensions import db
from teletherapy.gateways.zipcodes import find_zip
from teletherapy.models import AccountStatus, TherapistFee, TherapistProfile, TherapistTag, User
from teletherapy.services.matching.fee_bands import list_fee_bands
from teletherapy.services.matching.shapes import (
    load_fees,
    load_tags,
    public_shape,
    therapist_shapes,
)

logger = logging.getLogger(__name__)

HOME_RADIUS_MAX_KM = 80.0  # matching's home-visit bounding box relies on this ceiling
MAX_REDUCED_FEE_WEEKLY_CAP = 60

# Tag kind -> (the vocabulary its codes come from, the name of the field in forms and API).
TAG_FIELDS: dict[str, tuple[Mapping[str, str], str]] = {
    "modality": (vocab.MODALITIES, "modalities"),
    "concern": (vocab.CONCERNS, "concerns"),
    "language": (vocab.LANGUAGES, "languages"),
    "culture": (vocab.CULTURAL_BACKGROUNDS, "cultural_backgrounds"),
    "age_group": (vocab.AGE_GROUPS, "age_groups"),
    "licence_state": (vocab.US_STATES, "licence_states"),
    "online_state": (vocab.US_STATES, "online_states"),
}


@dataclass(frozen=True, kw_only=True)
class ProfileChanges:
    """A therapist's whole profile as edited (a full replacement, like PUT)."""

    display_name: str
    bio: str = ""
    license_type: str = ""
    license_number: str = ""
    license_state: str | None = None
    gender: str | None = None
    faith_integrated: bool = False
    lgbtq_affirming: bool = False
    offers_individual: bool = True
    offers_group: bool = False
    accepting_new_clients: bool = True
    photo_url: str | None = None
    modalities: Sequence[str] = ()
    concerns: Sequence[str] = ()
    languages: Sequence[str] = ()
    cultural_backgrounds: Sequence[str] = ()
    age_groups: Sequence[str] = ()
    licence_states: Sequence[str] = ()  # further states of licence besides license_state
    online_states: Sequence[str] = ()  # empty: no online sessions
    office_zip: str | None = None  # None: no in-office sessions
    home_zip: str | None = None  # None: no home visits
    home_radius_km: float | None = None
    fees: Mapping[str, int] = field(default_factory=dict)  # band code -> cents
    reduced_fee_weekly_cap: int | None = None


@dataclass(frozen=True)
class TherapistDetails:
    """Everything about one therapist, for the therapist's own editor."""

    profile: TherapistProfile
    tags: dict[str, list[str]]
    fees: dict[str, int]

    def changes(self) -> ProfileChanges:
        p = self.profile
        return ProfileChanges(
            display_name=p.display_name,
            bio=p.bio,
            license_type=p.license_type,
            license_number=p.license_number,
            license_state=p.license_state,
            gender=p.gender,
            faith_integrated=p.faith_integrated,
            lgbtq_affirming=p.lgbtq_affirming,
            offers_individual=p.offers_individual,
            offers_group=p.offers_group,
            accepting_new_clients=p.accepting_new_clients,
            photo_url=p.photo_url,
            office_zip=p.office_zip,
            home_zip=p.home_zip,
            home_radius_km=p.home_radius_km,
            fees=dict(self.fees),
            reduced_fee_weekly_cap=p.reduced_fee_weekly_cap,
            **{name: tuple(self.tags.get(kind, ())) for kind, (_, name) in TAG_FIELDS.items()},
        )


def get_profile(therapist_id: int) -> TherapistProfile:
    profile = db.session.get(TherapistProfile, therapist_id)
    if profile is None:
        raise NotFoundError("No such therapist.")
    return profile


def get_therapist_details(therapist_id: int) -> TherapistDetails:
    profile = get_profile(therapist_id)
    return TherapistDetails(
        profile=profile,
        tags=load_tags([therapist_id]).get(therapist_id, {}),
        fees=load_fees([therapist_id]).get(therapist_id, {}),
    )


def _clean_zip(value: str | None, name: str, errors: dict[str, list[str]]) -> Any:
    if value is None or not value.strip():
        return None
    location = find_zip(value)
    if location is None:
        errors.setdefault(name, []).append(f"{value!r} is not a known US ZIP code.")
        return None
    return location


def update_therapist_profile(*, therapist_id: int, changes: ProfileChanges) -> TherapistDetails:
    """Save a therapist's whole profile, tags and fees; all or nothing, one commit.

    Changing the licence (type, number or state) withdraws the verification: an
    administrator checks the new licence before the profile is public again.
    """
    profile = get_profile(therapist_id)
    errors: dict[str, list[str]] = {}

    def add(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    if not changes.display_name.strip() or len(changes.display_name) > 120:
        add("display_name", "Enter a name of up to 120 characters.")
    if len(changes.bio) > 2000:
        add("bio", "Keep the introduction under 2,000 characters.")
    if len(changes.license_type) > 40 or len(changes.license_number) > 40:
        add("license_number", "Licence type and number are at most 40 characters each.")
    if changes.license_state is not None and changes.license_state not in vocab.US_STATES:
        add("license_state", f"{changes.license_state!r} is not a US state code.")
    if changes.gender is not None and changes.gender not in vocab.GENDERS:
        add("gender", f"Unknown gender code {changes.gender!r}.")
    if changes.photo_url and (
        not changes.photo_url.startswith("https://") or len(changes.photo_url) > 500
    ):
        add("photo_url", "Use an https:// address of up to 500 characters.")
    tags: dict[str, list[str]] = {}
    for kind, (vocabulary, name) in TAG_FIELDS.items():
        codes = list(dict.fromkeys(getattr(changes, name)))
        unknown = [c for c in codes if c not in vocabulary]
        if unknown:
            add(name, "Unknown codes: " + ", ".join(unknown) + ".")
        tags[kind] = [c for c in codes if c in vocabulary]
    licensed = set(tags["licence_state"]) | (
        {changes.license_state} if changes.license_state else set()
    )
    tags["licence_state"] = sorted(licensed)
    outside = sorted(set(tags["online_state"]) - licensed)
    if outside:
        add(
            "online_states",
            "Online sessions are allowed only where you are licensed: " + ", ".join(outside) + ".",
        )
    office = _clean_zip(changes.office_zip, "office_zip", errors)
    home = _clean_zip(changes.home_zip, "home_zip", errors)
    radius = changes.home_radius_km
    if home is not None and (radius is None or not 0 < radius <= HOME_RADIUS_MAX_KM):
        add(
            "home_radius_km", f"Choose a travel radius above 0 and up to {HOME_RADIUS_MAX_KM:g} km."
        )
    if home is not None and home.state not in licensed:
        add("home_zip", f"Home visits need a licence in {home.state}.")
    if office is not None and office.state not in licensed:
        add("office_zip", f"An office in {office.state} needs a licence there.")
    cap = changes.reduced_fee_weekly_cap
    if cap is not None and not 0 <= cap <= MAX_REDUCED_FEE_WEEKLY_CAP:
        add(
            "reduced_fee_weekly_cap",
            f"Choose from 0 to {MAX_REDUCED_FEE_WEEKLY_CAP} reduced-fee sessions a week.",
        )
    bands = list_fee_bands()
    for code, cents in changes.fees.items():
        band = find_band(bands, code)
        if band is None:
            add("fees", f"Unknown fee band {code!r}.")
            continue
        try:
            validate_fee(band, cents, field="fees")
        except ValidationError as exc:
            for message in exc.errors["fees"]:
                add("fees", message)
    if errors:
        raise ValidationError("Some fields need attention.", errors=errors)

    licence = (profile.license_type, profile.license_number, profile.license_state)
    new_licence = (
        changes.license_type.strip(),
        changes.license_number.strip(),
        changes.license_state,
    )
    if licence != new_licence and profile.verified_at is not None:
        profile.verified_at = None
        logger.info("therapist %s changed licence: verification withdrawn", therapist_id)
    profile.display_name = changes.display_name.strip()
    profile.bio = changes.bio.strip()
    profile.license_type, profile.license_number, profile.license_state = new_licence
    profile.gender = changes.gender
    profile.faith_integrated = changes.faith_integrated
    profile.lgbtq_affirming = changes.lgbtq_affirming
    profile.offers_individual = changes.offers_individual
    profile.offers_group = changes.offers_group
    profile.accepting_new_clients = changes.accepting_new_clients
    profile.photo_url = changes.photo_url or None
    profile.office_zip = office.zip if office else None
    profile.office_lat = office.lat if office else None
    profile.office_lon = office.lon if office else None
    profile.home_zip = home.zip if home else None
    profile.home_lat = home.lat if home else None
    profile.home_lon = home.lon if home else None
    profile.home_radius_km = radius if home else None
    profile.reduced_fee_weekly_cap = cap
    db.session.execute(delete(TherapistTag).where(TherapistTag.therapist_id == therapist_id))
    rows = [
        {"therapist_id": therapist_id, "kind": kind, "code": code}
        for kind, codes in tags.items()
        for code in codes
    ]
    if rows:
        db.session.execute(insert(TherapistTag), rows)
    db.session.execute(delete(TherapistFee).where(TherapistFee.therapist_id == therapist_id))
    if changes.fees:
        db.session.execute(
            insert(TherapistFee),
            [
                {"therapist_id": therapist_id, "band_code": code, "fee_cents": cents}
                for code, cents in changes.fees.items()
            ],
        )
    db.session.commit()
    return get_therapist_details(therapist_id)


# --- verification (administrators) -------------------------------------------------------


def list_unverified_therapists(*, limit: int = 200) -> list[TherapistProfile]:
    """Active therapists whose licence nobody has checked yet, oldest first."""
    return list(
        db.session.scalars(
            select(TherapistProfile)
            .join(User, User.id == TherapistProfile.user_id)
            .where(
                TherapistProfile.verified_at.is_(None),
                User.status == AccountStatus.ACTIVE.value,
            )
            .order_by(TherapistProfile.created_at, TherapistProfile.id)
            .limit(limit)
        )
    )


def verify_licence(*, therapist_id: int, now: datetime) -> TherapistProfile:
    """An administrator checked the licence: the profile becomes public."""
    profile = get_profile(therapist_id)
    if not profile.license_number or not profile.license_state:
        raise ValidationError(
            "There is no licence to verify.",
            errors={
                "license_number": ["The therapist has not entered a licence number and state."]
            },
        )
    profile.verified_at = now
    db.session.commit()
    logger.info("therapist %s verified", therapist_id)
    return profile


def withdraw_verification(*, therapist_id: int) -> TherapistProfile:
    profile = get_profile(therapist_id)
    profile.verified_at = None
    db.session.commit()
    logger.info("therapist %s verification withdrawn", therapist_id)
    return profile


# --- the public profile (its shape: shapes.py) ------------------------------------------


def get_public_therapist(therapist_id: int, *, band_code: str | None = None) -> dict[str, Any]:
    """The public profile of a verified therapist (404 otherwise).

    Prices are never shown outside the viewer's band: with `band_code` (the signed-in
    client's own band) the shape carries `fee_cents` for that band only (null when the
    therapist does not accept it); without it, only the codes of the accepted bands.
    """
    profile = db.session.get(TherapistProfile, therapist_id)
    if profile is None or profile.verified_at is None:
        raise NotFoundError("No such therapist.")
    tags = load_tags([therapist_id]).get(therapist_id, {})
    fees = load_fees([therapist_id]).get(therapist_id, {})
    shape = public_shape(profile, tags, fees)
    if band_code is not None:
        shape["fee_band"] = band_code
        shape["fee_cents"] = fees.get(band_code)
    return shape


@dataclass(frozen=True)
class TherapistPage:
    therapists: list[dict[str, Any]]
    total: int


def list_therapists(
    *, filters: Mapping[str, str | None], limit: int = 20, offset: int = 0
) -> TherapistPage:
    """Verified therapists for browsing, by id, with indexed filters.

    filters: `state` (licensed there: online or in person), `setting` (offered at all;
    online with `state` means online in that state), `language`, `modality`.
    """
    errors: dict[str, list[str]] = {}
    state, setting = filters.get("state"), filters.get("setting")
    language, modality = filters.get("language"), filters.get("modality")
    if state and state not in vocab.US_STATES:
        errors["state"] = [f"Unknown US state {state!r}."]
    if setting and setting not in vocab.SETTINGS:
        errors["setting"] = [f"Unknown setting {setting!r}."]
    if language and language not in vocab.LANGUAGES:
        errors["language"] = [f"Unknown language {language!r}."]
    if modality and modality not in vocab.MODALITIES:
        errors["modality"] = [f"Unknown modality {modality!r}."]
    if not 1 <= limit <= 100 or offset < 0:
        errors["limit"] = ["Choose a limit from 1 to 100 and an offset of 0 or more."]
    if errors:
        raise ValidationError("Some filters are not valid.", errors=errors)

    def tagged(kind: str, code: str | None = None) -> Any:
        sub = select(TherapistTag.therapist_id).where(TherapistTag.kind == kind)
        if code is not None:
            sub = sub.where(TherapistTag.code == code)
        return TherapistProfile.id.in_(sub)

    conditions: list[Any] = [TherapistProfile.verified_at.is_not(None)]
    if setting == "online":
        conditions.append(tagged("online_state", state))
    elif setting == "in_office":
        conditions.append(TherapistProfile.office_lat.is_not(None))
    elif setting == "home":
        conditions.append(TherapistProfile.home_lat.is_not(None))
    if state and setting != "online":
        conditions.append(or_(tagged("online_state", state), tagged("licence_state", state)))
    if language:
        conditions.append(tagged("language", language))
    if modality:
        conditions.append(tagged("modality", modality))
    total = db.session.scalar(select(func.count()).select_from(TherapistProfile).where(*conditions))
    ids = list(
        db.session.scalars(
            select(TherapistProfile.id)
            .where(*conditions)
            .order_by(TherapistProfile.id)
            .limit(limit)
            .offset(offset)
        )
    )
    shapes = therapist_shapes(ids)
    return TherapistPage(therapists=[shapes[i] for i in ids if i in shapes], total=total or 0)
