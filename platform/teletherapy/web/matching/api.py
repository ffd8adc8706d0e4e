"""API: POST /matches (anonymous or a client), the therapist directory and its open slots."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from teletherapy.clock import utcnow
from teletherapy.domain import vocabularies as v
from teletherapy.domain.matching_types import MAX_DISTANCE_KM, MAX_LIMIT, MAX_WEIGHT
from teletherapy.domain.vocabularies import Role
from teletherapy.extensions import limiter
from teletherapy.services import bookings as booking_service
from teletherapy.services.matching import profiles
from teletherapy.services.matching import search as matching
from teletherapy.web.access import current_actor, public
from teletherapy.web.formatting import utc_iso
from teletherapy.web.reads import reads_may_lag
from teletherapy.web.schemas import Shaped, UtcDateTime, VocabularyEntrySchema
from teletherapy.web.validators import StrictBoolean, TimeZoneField

matches_bp = Blueprint("api_matches", __name__, description="Find therapists for a client")
therapists_bp = Blueprint("api_therapists", __name__, description="The therapist directory")
slots_bp = Blueprint("api_slots", __name__, description="Open slots of a therapist")
BLUEPRINTS = [matches_bp, therapists_bp, slots_bp]

# Names in the person's language (lazy): 988 offers Spanish (press 2); SAMHSA answers in
# English and Spanish.
CRISIS_RESOURCES = [
    {
        "name": _l("988 Suicide & Crisis Lifeline (call or text; press 2 for Spanish)"),
        "phone": "988",
    },
    {
        "name": _l(
            "SAMHSA National Helpline (free, confidential treatment referral, 24/7, "
            "in English and Spanish)"
        ),
        "phone": "1-800-662-4357",
    },
    {"name": _l("Emergency services"), "phone": "911"},
]

_WEIGHT = validate.Range(min=0, max=MAX_WEIGHT)
_HHMM = validate.Regexp(r"^([01]\d|2[0-3]):[0-5]\d$", error="Use a time like 18:00.")


class LanguageWishSchema(Schema):
    code = fields.String(required=True, validate=validate.OneOf(list(v.LANGUAGES)))
    required = StrictBoolean(load_default=False)
    weight = fields.Integer(load_default=1, validate=_WEIGHT)


class CulturePreferenceSchema(Schema):
    code = fields.String(required=True, validate=validate.OneOf(list(v.CULTURAL_BACKGROUNDS)))
    weight = fields.Integer(load_default=1, validate=_WEIGHT)


class GenderPreferenceSchema(Schema):
    code = fields.String(required=True, validate=validate.OneOf(list(v.GENDERS)))
    weight = fields.Integer(load_default=1, validate=_WEIGHT)


class TimeWindowSchema(Schema):
    weekday = fields.Integer(required=True, validate=validate.Range(min=0, max=6))
    start = fields.String(required=True, validate=_HHMM)
    end = fields.String(required=True, validate=_HHMM)


class MatchRequestSchema(Schema):
    """Only setting and state are required; weights go from 0 (does not matter) to 3."""

    setting = fields.String(required=True, validate=validate.OneOf(list(v.SETTINGS)))
    state = fields.String(required=True, validate=validate.OneOf(list(v.US_STATES)))
    zip = fields.String(validate=validate.Regexp(r"^\d{5}(-\d{4})?$"), allow_none=True)
    languages = fields.List(fields.Nested(LanguageWishSchema), validate=validate.Length(max=5))
    modalities = fields.List(
        fields.String(validate=validate.OneOf([*v.MODALITIES, "not_sure"])),
        metadata={"description": 'Empty or ["not_sure"]: no preference.'},
    )
    concerns = fields.List(fields.String(validate=validate.OneOf(list(v.CONCERNS))))
    cultural_backgrounds = fields.List(fields.Nested(CulturePreferenceSchema))
    gender = fields.Nested(GenderPreferenceSchema, allow_none=True)
    faith_integrated = fields.Integer(validate=_WEIGHT)
    lgbtq_affirming = fields.Integer(validate=_WEIGHT)
    age_group = fields.String(validate=validate.OneOf(list(v.AGE_GROUPS)), allow_none=True)
    fee_band = fields.String(validate=validate.Length(min=1, max=8), allow_none=True)
    household_income_cents = fields.Integer(validate=validate.Range(min=0), allow_none=True)
    household_size = fields.Integer(validate=validate.Range(min=1, max=30), allow_none=True)
    preferred_times = fields.List(fields.Nested(TimeWindowSchema), validate=validate.Length(max=21))
    max_distance_km = fields.Float(
        validate=validate.Range(min=0, max=MAX_DISTANCE_KM, min_inclusive=False)
    )
    limit = fields.Integer(validate=validate.Range(min=1, max=MAX_LIMIT))
    time_zone = TimeZoneField()

    @validates_schema
    def income_and_size_together(self, data: dict[str, Any], **kwargs: Any) -> None:
        income, size = data.get("household_income_cents"), data.get("household_size")
        if (income is None) != (size is None):
            message = "Give household income and household size together."
            raise ValidationError(
                {"household_income_cents": [message], "household_size": [message]}
            )
        for window in data.get("preferred_times") or ():
            if window["start"] >= window["end"]:
                raise ValidationError({"preferred_times": ["Each start must be before its end."]})


class TherapistSchema(Schema):
    id = fields.Integer()
    display_name = fields.String()
    initials = fields.String()
    photo_url = fields.String(allow_none=True)
    modalities = fields.List(fields.String())
    languages = fields.List(fields.String())
    cultural_backgrounds = fields.List(fields.String())
    concerns = fields.List(fields.String())
    age_groups = fields.List(fields.String())
    gender = fields.String(allow_none=True)
    faith_integrated = StrictBoolean()
    lgbtq_affirming = StrictBoolean()
    offers_individual = StrictBoolean()
    offers_group = StrictBoolean()
    settings = fields.Dict(
        metadata={"description": "online {states}, in_office {zip}, home {zip, radius_km}"}
    )
    licence = fields.Dict(metadata={"description": "{type, state, states}"})
    fee_bands = fields.List(fields.String(), metadata={"description": "Codes of accepted bands"})
    fee_band = fields.String(
        metadata={"description": "The signed-in client's own band (only for them)"}
    )
    fee_cents = fields.Integer(
        allow_none=True,
        metadata={"description": "Price in the client's own band; never other bands' prices"},
    )
    accepting_new_clients = StrictBoolean()
    bio = fields.String()


class MatchSchema(Schema):
    therapist = Shaped(TherapistSchema)  # profiles.therapist_shapes' shape
    score = fields.Float()
    reasons = fields.List(fields.String())
    fee_cents = fields.Integer()
    next_opening = UtcDateTime(allow_none=True)
    # The very first opening when it is sooner than next_opening (outside preferred times).
    earlier_opening = UtcDateTime(allow_none=True)


class RelaxationSchema(Schema):
    change = fields.String()
    more = fields.Integer()


class CrisisResourceSchema(Schema):
    name = fields.String()
    phone = fields.String()


class MatchResponseSchema(Schema):
    matches = fields.List(fields.Nested(MatchSchema))
    relaxations = fields.List(fields.Nested(RelaxationSchema))
    removed_by = fields.Dict(keys=fields.String(), values=fields.Integer())
    most_removed_by = fields.String(allow_none=True)
    fee_band = fields.Nested(
        VocabularyEntrySchema, metadata={"description": "The band used (your own)"}
    )
    crisis_resources = fields.List(fields.Nested(CrisisResourceSchema))


class TherapistQuerySchema(Schema):
    state = fields.String(validate=validate.OneOf(list(v.US_STATES)))
    setting = fields.String(validate=validate.OneOf(list(v.SETTINGS)))
    language = fields.String(validate=validate.OneOf(list(v.LANGUAGES)))
    modality = fields.String(validate=validate.OneOf(list(v.MODALITIES)))
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0))


class SlotQuerySchema(Schema):
    from_date = fields.Date(required=True, data_key="from", metadata={"example": "2026-12-01"})
    to_date = fields.Date(required=True, data_key="to", metadata={"example": "2026-12-07"})
    setting = fields.String(validate=validate.OneOf(list(v.SETTINGS)))


class SlotSchema(Schema):
    start = fields.String(metadata={"description": "UTC, ISO 8601 with Z"})
    end = fields.String()
    setting = fields.String()


class SlotListSchema(Schema):
    slots = fields.List(fields.Nested(SlotSchema))


class TherapistListSchema(Schema):
    therapists = fields.List(fields.Nested(TherapistSchema))
    total = fields.Integer()
    limit = fields.Integer()
    offset = fields.Integer()


def _client_id() -> int | None:
    actor = current_actor()
    return actor.id if actor is not None and actor.role == "client" else None


@matches_bp.route("/matches", methods=["POST"])
@limiter.limit("60 per minute")
@matches_bp.arguments(MatchRequestSchema)
@matches_bp.response(200, MatchResponseSchema)
@matches_bp.doc(security=[{}, {"bearer": []}])
@public
@reads_may_lag
def post_matches(body: dict[str, Any]) -> dict[str, Any]:
    """Therapists who can see you, best first, with reasons and relaxations.

    Anonymous searches save nothing; a signed-in client's search is kept on their
    profile so it can be repeated and refined.
    """
    search = matching.find_matches(request_payload=body, client_id=_client_id(), now=utcnow())
    return {
        "matches": [
            {
                "therapist": m.therapist,
                "score": m.score,
                "reasons": list(m.reasons),
                "fee_cents": m.fee_cents,
                "next_opening": m.next_opening,
                "earlier_opening": m.earlier_opening,
            }
            for m in search.matches
        ],
        "relaxations": [{"change": r.change, "more": r.more} for r in search.relaxations],
        "removed_by": search.removed_by,
        "most_removed_by": search.most_removed_by,
        "fee_band": {"code": search.fee_band.code, "label": search.fee_band.label},
        "crisis_resources": [{**r, "name": str(r["name"])} for r in CRISIS_RESOURCES],
    }


@therapists_bp.route("/therapists", methods=["GET"])
@therapists_bp.arguments(TherapistQuerySchema, location="query")
@therapists_bp.response(200, TherapistListSchema)
@public
@reads_may_lag
def list_therapists(args: dict[str, Any]) -> dict[str, Any]:
    """Browse verified therapists (no prices: search to see yours)."""
    limit, offset = args.pop("limit"), args.pop("offset")
    page = profiles.list_therapists(filters=args, limit=limit, offset=offset)
    return {"therapists": page.therapists, "total": page.total, "limit": limit, "offset": offset}


@therapists_bp.route("/therapists/<int:therapist_id>", methods=["GET"])
@therapists_bp.response(200, TherapistSchema)
@therapists_bp.doc(security=[{}, {"bearer": []}])
@public
@reads_may_lag
def get_therapist(therapist_id: int) -> dict[str, Any]:
    """A verified therapist's public profile.

    A signed-in client with a fee band sees the price in their band only; everyone
    else sees which bands are accepted, without prices.
    """
    client_id = _client_id()
    band = matching.find_client_band(client_id=client_id) if client_id is not None else None
    return profiles.get_public_therapist(therapist_id, band_code=band)


@slots_bp.route("/therapists/<int:therapist_id>/slots", methods=["GET"])
@slots_bp.arguments(SlotQuerySchema, location="query")
@slots_bp.response(200, SlotListSchema)
@public
def get_slots(query: dict[str, Any], therapist_id: int) -> dict[str, Any]:
    """Open slots on the therapist's local dates `from`..`to` (at most 62 days), in UTC."""
    actor = current_actor()
    new_client = True
    if actor is not None and actor.role == Role.CLIENT:
        new_client = booking_service.is_new_client(client_id=actor.id, therapist_id=therapist_id)
    slots = booking_service.list_slots(
        therapist_id=therapist_id,
        from_date=query["from_date"],
        to_date=query["to_date"],
        setting=query.get("setting"),
        now=utcnow(),
        is_new_client=new_client,
    )
    return {
        "slots": [
            {"start": utc_iso(s.start), "end": utc_iso(s.end), "setting": s.setting} for s in slots
        ]
    }
