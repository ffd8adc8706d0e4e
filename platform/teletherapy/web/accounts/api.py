"""API: tokens, the caller's own account, and vocabularies."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask_smorest import Blueprint

from teletherapy.clock import utcnow
from teletherapy.domain import vocabularies as v
from teletherapy.extensions import limiter
from teletherapy.services.accounts import User
from teletherapy.services.accounts import users as accounts
from teletherapy.web.access import public, require_actor, roles
from teletherapy.web.schemas import (
    BEARER,
    MeSchema,
    MeUpdateSchema,
    TokenRequestSchema,
    TokenSchema,
    VocabulariesSchema,
)

tokens_bp = Blueprint("api_tokens", __name__, description="Bearer tokens")
me_bp = Blueprint("api_me", __name__, description="The caller's own account")
vocab_bp = Blueprint("api_vocabularies", __name__, description="Codes and labels")

BLUEPRINTS = [tokens_bp, me_bp, vocab_bp]


def me_payload(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "email": user.email,
        "role": user.role,
        "display_name": user.display_name,
        "time_zone": user.time_zone,
        "language": user.language,
        "state": user.state,
        "zip": user.zip,
        "therapist_id": user.therapist_id,
    }


@tokens_bp.route("/tokens", methods=["POST"])
@limiter.limit("10 per minute; 50 per hour")
@tokens_bp.arguments(TokenRequestSchema)
@tokens_bp.response(201, TokenSchema)
@public
def create_token(body: dict[str, Any]) -> dict[str, Any]:
    """Exchange an email and password for a bearer token that expires (`expires_at`)."""
    issued = accounts.issue_api_token(
        email=body["email"],
        password=body["password"],
        now=utcnow(),
        label=body.get("name", "API token"),
        lifetime_days=int(current_app.config["API_TOKEN_MAX_AGE_DAYS"]),
    )
    return {"token": issued.token, "name": issued.name, "expires_at": issued.expires_at}


@me_bp.route("/me", methods=["GET"])
@roles()
@me_bp.response(200, MeSchema)
@me_bp.doc(security=BEARER)
def get_me() -> dict[str, Any]:
    """The signed-in person's account."""
    return me_payload(require_actor())


@me_bp.route("/me", methods=["PUT"])
@roles()
@me_bp.arguments(MeUpdateSchema)
@me_bp.response(200, MeSchema)
@me_bp.doc(security=BEARER)
def put_me(body: dict[str, Any]) -> dict[str, Any]:
    """Change your own name, time zone, language and location."""
    actor = require_actor()
    user = accounts.update_account(user_id=actor.id, changes=accounts.AccountChanges(**body))
    return me_payload(user)


def _entries(vocabulary: dict[str, str]) -> list[dict[str, str]]:
    return [{"code": code, "label": label} for code, label in vocabulary.items()]


@vocab_bp.route("/vocabularies", methods=["GET"])
@vocab_bp.response(200, VocabulariesSchema)
@public
def get_vocabularies() -> dict[str, Any]:
    """Every code the API accepts, with its label."""
    from teletherapy.services.matching.fee_bands import list_fee_bands

    return {
        "modalities": _entries(v.MODALITIES),
        "languages": _entries(v.LANGUAGES),
        "cultural_backgrounds": _entries(v.CULTURAL_BACKGROUNDS),
        "settings": _entries(v.SETTINGS),
        "concerns": _entries(v.CONCERNS),
        "age_groups": _entries(v.AGE_GROUPS),
        "genders": _entries(v.GENDERS),
        "states": _entries(v.US_STATES),
        "fee_bands": [
            {"code": b.code, "label": b.label, "min_cents": b.min_cents, "max_cents": b.max_cents}
            for b in list_fee_bands()
        ],
    }
