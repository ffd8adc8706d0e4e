"""Marshmallow schemas of the API: they validate requests and generate the OpenAPI document."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from marshmallow import INCLUDE, Schema, fields, validate

from teletherapy.domain.vocabularies import LANGUAGES, US_STATES
from teletherapy.web.formatting import utc_iso_or_none
from teletherapy.web.validators import TimeZoneField

BEARER: list[dict[str, list[str]]] = [{"bearer": []}]  # OpenAPI security of token routes


class UtcDateTime(fields.DateTime):
    """An instant written as ISO 8601 in UTC with a Z, as the whole API answers."""

    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> str | None:
        return utc_iso_or_none(value)


class Shaped(fields.Nested):
    """An object the service already built in its public, JSON-ready shape (the nested
    schema's fields and nothing else): answered as it is, documented as the nested schema.
    Dumping twenty therapists field by field cost a tenth of a search's CPU."""

    # Nested's own signature (marshmallow's Field and Nested disagree: ignore[override]).
    def _serialize(self, nested_obj: Any, attr: Any, obj: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        return nested_obj


class ProblemSchema(Schema):
    """RFC 9457 problem details: every 4xx and 5xx of the API."""

    class Meta:
        unknown = INCLUDE

    type = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String()
    instance = fields.String()
    errors = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.String()),
        metadata={"description": "Messages per field, keyed like the JSON (weekly[0].end)."},
    )


class TokenRequestSchema(Schema):
    email = fields.Email(required=True)
    password = fields.String(required=True, validate=validate.Length(min=1, max=200))
    name = fields.String(
        validate=validate.Length(min=1, max=80),
        metadata={"description": "What the token is for, shown on the account page."},
    )


class TokenSchema(Schema):
    token = fields.String(required=True)
    name = fields.String()
    expires_at = fields.AwareDateTime(
        default_timezone=UTC, metadata={"description": "The token stops working then."}
    )


class MeSchema(Schema):
    id = fields.Integer()
    email = fields.Email()
    role = fields.String()
    display_name = fields.String()
    time_zone = fields.String()
    language = fields.String()
    state = fields.String(allow_none=True)
    zip = fields.String(allow_none=True)
    therapist_id = fields.Integer(allow_none=True)


class MeUpdateSchema(Schema):
    display_name = fields.String(validate=validate.Length(min=1, max=120))
    time_zone = TimeZoneField()
    language = fields.String(validate=validate.OneOf(list(LANGUAGES)))
    state = fields.String(allow_none=True, validate=validate.OneOf([*US_STATES, ""]))
    zip = fields.String(allow_none=True, validate=validate.Regexp(r"^(\d{5})?$"))


class VocabularyEntrySchema(Schema):
    code = fields.String()
    label = fields.String()


class FeeBandEntrySchema(VocabularyEntrySchema):
    min_cents = fields.Integer()
    max_cents = fields.Integer()


class VocabulariesSchema(Schema):
    modalities = fields.List(fields.Nested(VocabularyEntrySchema))
    languages = fields.List(fields.Nested(VocabularyEntrySchema))
    cultural_backgrounds = fields.List(fields.Nested(VocabularyEntrySchema))
    settings = fields.List(fields.Nested(VocabularyEntrySchema))
    concerns = fields.List(fields.Nested(VocabularyEntrySchema))
    age_groups = fields.List(fields.Nested(VocabularyEntrySchema))
    genders = fields.List(fields.Nested(VocabularyEntrySchema))
    states = fields.List(fields.Nested(VocabularyEntrySchema))
    fee_bands = fields.List(fields.Nested(FeeBandEntrySchema))
