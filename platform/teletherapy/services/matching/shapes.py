"""A therapist's public shape (what the API and pages show of them, never prices) and
the reads it is made from: one therapist's or many at once."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import bindparam, func, select

from teletherapy.extensions import db
from teletherapy.models import TherapistFee, TherapistProfile, TherapistTag


def load_tags(
    therapist_ids: Iterable[int], kinds: Iterable[str] | None = None
) -> dict[int, dict[str, list[str]]]:
    """Tags of many therapists in one query: {therapist_id: {kind: [codes, sorted]}}."""
    ids = list(therapist_ids)
    found: dict[int, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    if not ids:
        return {}
    stmt = select(TherapistTag.therapist_id, TherapistTag.kind, TherapistTag.code).where(
        TherapistTag.therapist_id.in_(ids)
    )
    if kinds is not None:
        stmt = stmt.where(TherapistTag.kind.in_(list(kinds)))
    for therapist_id, kind, code in db.session.connection().execute(
        stmt.order_by(TherapistTag.therapist_id, TherapistTag.kind, TherapistTag.code)
    ):
        found[therapist_id][kind].append(code)
    return {tid: dict(kinds_) for tid, kinds_ in found.items()}


def load_fees(therapist_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    """Prices of many therapists in one query: {therapist_id: {band_code: cents}}."""
    ids = list(therapist_ids)
    if not ids:
        return {}
    found: dict[int, dict[str, int]] = defaultdict(dict)
    for therapist_id, band_code, cents in db.session.connection().execute(
        select(TherapistFee.therapist_id, TherapistFee.band_code, TherapistFee.fee_cents).where(
            TherapistFee.therapist_id.in_(ids)
        )
    ):
        found[therapist_id][band_code] = cents
    return dict(found)


# --- the public shape ---------------------------------------------------------------------


def public_name(display_name: str) -> str:
    """ "Ana Rodríguez" -> "Ana R." (the contract's example); one word stays as it is."""
    words = display_name.split()
    if len(words) < 2:
        return display_name.strip()
    return f"{words[0]} {words[-1][0]}."


def initials(display_name: str) -> str:
    words = [w for w in display_name.split() if w[:1].isalpha()]
    return "".join(w[0].upper() for w in words[:1] + words[1:][-1:]) or "?"


def public_shape(
    profile: Any, tags: Mapping[str, list[str]], fees: Mapping[str, int]
) -> dict[str, Any]:
    """`profile`: a TherapistProfile or a row of its table (same attribute names)."""
    settings: dict[str, Any] = {}
    if tags.get("online_state"):
        settings["online"] = {"states": list(tags["online_state"])}
    if profile.office_zip is not None:
        settings["in_office"] = {"zip": profile.office_zip}
    if profile.home_zip is not None:
        settings["home"] = {"zip": profile.home_zip, "radius_km": profile.home_radius_km}
    return {
        "id": profile.id,
        "display_name": public_name(profile.display_name),
        "initials": initials(profile.display_name),
        "photo_url": profile.photo_url,
        "modalities": list(tags.get("modality", [])),
        "languages": list(tags.get("language", [])),
        "cultural_backgrounds": list(tags.get("culture", [])),
        "concerns": list(tags.get("concern", [])),
        "age_groups": list(tags.get("age_group", [])),
        "gender": profile.gender,
        "faith_integrated": profile.faith_integrated,
        "lgbtq_affirming": profile.lgbtq_affirming,
        "offers_individual": profile.offers_individual,
        "offers_group": profile.offers_group,
        "settings": settings,
        "licence": {
            "type": profile.license_type,
            "state": profile.license_state,
            "states": list(tags.get("licence_state", [])),
        },
        "fee_bands": sorted(fees),
        "accepting_new_clients": profile.accepting_new_clients,
        "bio": profile.bio,
    }


# On PostgreSQL the shapes' columns (those `_shape` reads), the tags from the row's
# tag_codes and the accepted bands beside them: one statement, built once (every search).
_P = TherapistProfile.__table__.c
_SHAPES = select(
    *(
        _P[name]
        for name in (
            "id",
            "display_name",
            "photo_url",
            "office_zip",
            "home_zip",
            "home_radius_km",
            "gender",
            "faith_integrated",
            "lgbtq_affirming",
            "offers_individual",
            "offers_group",
            "license_type",
            "license_state",
            "accepting_new_clients",
            "bio",
            "tag_codes",
        )
    ),
    select(func.json_agg(TherapistFee.band_code))
    .where(TherapistFee.therapist_id == _P.id)
    .scalar_subquery()
    .label("band_codes"),
).where(_P.id.in_(bindparam("ids", expanding=True)))


def therapist_shapes(therapist_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """The public shape of many therapists (no prices: see with_price): on PostgreSQL in
    one query (the tags are the row's `tag_codes`, the bands a JSON aggregate beside it),
    elsewhere in three."""
    ids = list(dict.fromkeys(therapist_ids))
    if not ids:
        return {}
    table = TherapistProfile.__table__
    if db.session.get_bind().dialect.name == "postgresql":
        rows = db.session.connection().execute(_SHAPES, {"ids": ids})
        return {
            p.id: public_shape(p, _tags_of(p.tag_codes), dict.fromkeys(p.band_codes or (), 0))
            for p in rows
        }
    profiles = db.session.connection().execute(select(table).where(table.c.id.in_(ids)))
    tags = load_tags(ids)
    fees = load_fees(ids)
    return {p.id: public_shape(p, tags.get(p.id, {}), fees.get(p.id, {})) for p in profiles}


def _tags_of(codes: Sequence[str] | None) -> dict[str, list[str]]:
    """`load_tags`' answer for one therapist from its "kind:code" list (kept sorted by
    kind, then code, as load_tags orders them)."""
    found: dict[str, list[str]] = defaultdict(list)
    for item in codes or ():
        kind, _, code = item.partition(":")
        found[kind].append(code)
    return dict(found)
