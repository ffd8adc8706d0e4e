"""Sign-in sessions and tokens that really end: sign-out, "sign out everywhere", new passwords."""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import datetime

from sqlalchemy import update

from teletherapy.extensions import db
from teletherapy.models import ApiToken, SignInSession, User

logger = logging.getLogger(__name__)


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def start_sign_in_session(*, user: User, now: datetime) -> str:
    """A new session row; the returned key goes into the cookie (only its digest is stored)."""
    key = secrets.token_urlsafe(24)
    db.session.add(SignInSession(user_id=user.id, key_hash=_digest(key), created_at=now))
    db.session.commit()
    user._sign_in_key = key  # type: ignore[attr-defined]  # read by User.get_id
    return key


def find_signed_in_user(*, user_id: int, key: str) -> User | None:
    """The user of a cookie whose session has not ended (and whose account is active)."""
    row = db.session.scalar(
        db.select(SignInSession).where(
            SignInSession.key_hash == _digest(key),
            SignInSession.user_id == user_id,
            SignInSession.ended_at.is_(None),
        )
    )
    if row is None:
        return None
    user = db.session.get(User, user_id)
    if user is None or not user.is_active:
        return None
    user._sign_in_key = key  # type: ignore[attr-defined]
    return user


def end_sign_in_session(*, key: str, now: datetime) -> None:
    db.session.execute(
        update(SignInSession)
        .where(SignInSession.key_hash == _digest(key), SignInSession.ended_at.is_(None))
        .values(ended_at=now)
    )
    db.session.commit()


def end_every_session(*, user_id: int, now: datetime, commit: bool = True) -> None:
    """End every browser session and revoke every API token of one person."""
    db.session.execute(
        update(SignInSession)
        .where(SignInSession.user_id == user_id, SignInSession.ended_at.is_(None))
        .values(ended_at=now)
    )
    db.session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    if commit:
        db.session.commit()
    logger.info("every session and token ended user=%s", user_id)
