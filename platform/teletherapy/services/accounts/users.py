"""Account use cases: sign-up, sign-in, tokens, password reset, settings, approvals."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Select, bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import lazyload

from teletherapy.domain import passwords
from teletherapy.domain.availability import time_zone_error
from teletherapy.domain.errors import AuthenticationError, NotFoundError, ValidationError
from teletherapy.domain.vocabularies import LANGUAGES, US_STATES
from teletherapy.extensions import db
from teletherapy.models import (
    AccountStatus,
    ApiToken,
    ClientProfile,
    PasswordResetToken,
    Role,
    TherapistProfile,
    User,
)
from teletherapy.models.accounts import user_by_email
from teletherapy.services.accounts.sessions import end_every_session
from teletherapy.services.messaging import account_mail

logger = logging.getLogger(__name__)

# argon2id with the library's current recommended parameters; when they change,
# `check_needs_rehash` tells us at the next successful sign-in.
_hasher = PasswordHasher()
# Verifying against a dummy hash when the email is unknown keeps timing alike.
_DUMMY_HASH = _hasher.hash("not-a-real-password")

MIN_PASSWORD_LENGTH = passwords.MIN_PASSWORD_LENGTH
DEFAULT_TOKEN_DAYS = 90


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def token_digest(token: str) -> str:
    """Tokens are stored only as a SHA-256 digest (they are long random strings)."""
    return hashlib.sha256(token.encode()).hexdigest()


def validate_time_zone(name: str) -> str:
    problem = time_zone_error(name)
    if problem:
        raise ValidationError("Time zone not accepted.", errors={"time_zone": [problem]})
    return name


def _validate_email(email: str) -> str:
    """THE email rule (sign-up, admin-created accounts, the API): a well-formed address.

    The reserved `.test` domain is accepted, as sign-in accepts it (the demo's accounts
    use it); reachability is proved by the reset link, not guessed from DNS.
    """
    from email_validator import EmailNotValidError, validate_email

    try:
        return validate_email(
            email.strip(), check_deliverability=False, test_environment=True
        ).normalized.lower()
    except EmailNotValidError as exc:
        raise ValidationError("Invalid email address.", errors={"email": [str(exc)]}) from None


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """zxcvbn's list of the 30,000 most used passwords (shipped with the package, offline)."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def _validate_password(password: str, *, email: str = "", name: str = "") -> None:
    problems = passwords.password_problems(
        password, email=email, name=name, common=common_passwords()
    )
    if problems:
        raise ValidationError("Choose another password.", errors={"password": problems})


def create_user(
    *,
    email: str,
    password: str,
    role: str = Role.CLIENT.value,
    display_name: str = "",
    time_zone: str = "America/New_York",
    language: str = "en",
    status: str = AccountStatus.ACTIVE.value,
    state: str | None = None,
    zip: str | None = None,
) -> User:
    """Create a user and the matching profile; one commit."""
    if role not in {r.value for r in Role}:
        raise ValidationError("Unknown role.", errors={"role": [f"'{role}' is not a role."]})
    email = _validate_email(email)
    _validate_password(password, email=email, name=display_name)
    validate_time_zone(time_zone)
    if db.session.scalar(user_by_email(email)) is not None:
        raise ValidationError(
            "Email already registered.", errors={"email": ["An account with this email exists."]}
        )
    user = User(
        email=email,
        password_hash=hash_password(password),
        role=role,
        status=status,
        display_name=display_name.strip() or email.split("@")[0],
        time_zone=time_zone,
        language=language,
        state=state,
        zip=zip,
    )
    db.session.add(user)
    if role == Role.THERAPIST.value:
        db.session.add(TherapistProfile(user=user, display_name=user.display_name))
    elif role == Role.CLIENT.value:
        db.session.flush()
        db.session.add(ClientProfile(user_id=user.id))
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise ValidationError(
            "Email already registered.", errors={"email": ["An account with this email exists."]}
        ) from None
    logger.info("user created id=%s role=%s status=%s", user.id, role, status)
    return user


def sign_up(
    *,
    email: str,
    password: str,
    display_name: str,
    role: str,
    time_zone: str,
    language: str,
    now: datetime | None = None,
) -> User | None:
    """Public sign-up: clients are active at once, therapists wait for an admin.

    An address that already has an account gets an email instead, and the caller
    gets None, which it must answer exactly like a new account (no sign-in), so
    the page never tells a stranger who has an account here.
    """
    if role not in {Role.CLIENT.value, Role.THERAPIST.value}:
        raise ValidationError("Choose client or therapist.", errors={"role": ["Invalid choice."]})
    normalised = _validate_email(email)
    existing = db.session.scalar(user_by_email(normalised))
    if existing is not None:
        hash_password(password)  # the same work as a new account, so timing tells nothing
        if now is not None:
            account_mail.enqueue_existing_account_notice(user=existing, now=now)
            db.session.commit()
        logger.info("sign-up for an existing address user=%s", existing.id)
        return None
    status = AccountStatus.PENDING.value if role == Role.THERAPIST.value else "active"
    user = create_user(
        email=email,
        password=password,
        role=role,
        display_name=display_name,
        time_zone=time_zone,
        language=language,
        status=status,
    )
    if now is not None:
        account_mail.enqueue_welcome(user=user, now=now)
        db.session.commit()
    return user


def authenticate(*, email: str, password: str, now: datetime) -> User:
    """Check a password; the same error whether the email exists or not."""
    user = db.session.scalar(user_by_email(email))
    failure = AuthenticationError("Email or password is incorrect.")
    if user is None:
        with contextlib.suppress(VerificationError):
            _hasher.verify(_DUMMY_HASH, password)
        raise failure
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        raise failure from None
    if user.status == AccountStatus.PENDING.value:
        raise AuthenticationError(
            "Your therapist account is waiting for an administrator to approve it."
        )
    if user.status != AccountStatus.ACTIVE.value:
        raise failure
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = now
    db.session.commit()
    return user


@dataclass(frozen=True)
class IssuedToken:
    token: str
    name: str
    expires_at: datetime


def issue_api_token(
    *,
    email: str,
    password: str,
    now: datetime,
    label: str = "API token",
    lifetime_days: int = DEFAULT_TOKEN_DAYS,
) -> IssuedToken:
    """A bearer token that expires after `lifetime_days` (shown to the caller when issued)."""
    user = authenticate(email=email, password=password, now=now)
    token = "tt_" + secrets.token_urlsafe(32)
    expires_at = now + timedelta(days=lifetime_days)
    name = label.strip() or "API token"
    db.session.add(
        ApiToken(
            user_id=user.id,
            token_hash=token_digest(token),
            label=name,
            created_at=now,
            expires_at=expires_at,
        )
    )
    db.session.commit()
    return IssuedToken(token=token, name=name, expires_at=expires_at)


@lru_cache(maxsize=1)
def _token_and_user() -> Select[ApiToken, User]:
    """The token and its user in one round trip; every API request runs it, so it is built
    once (building and keying it each time cost more than the read itself), on first use
    (naming User.therapist sets up the ORM's mappers). The user's therapist profile is not
    joined: most API requests never look at it (a client's booking refused with 409:
    7.9M -> 7.3M instructions), and one that does loads it then."""
    return (
        select(ApiToken, User)
        .join(User, User.id == ApiToken.user_id)
        .options(lazyload(User.therapist))
        .where(ApiToken.token_hash == bindparam("digest"), ApiToken.revoked_at.is_(None))
    )


def find_user_for_token(token: str, *, now: datetime) -> User | None:
    found = db.session.execute(_token_and_user(), {"digest": token_digest(token)}).first()
    if found is None:
        return None
    row, user = found
    if row.expires_at is not None and row.expires_at <= now:
        return None
    if not user.is_active:
        return None
    # Record use at most once a minute to keep polling clients from writing constantly.
    if row.last_used_at is None or now - row.last_used_at > timedelta(minutes=1):
        row.last_used_at = now
        db.session.commit()
    return user


def list_api_tokens(*, user_id: int) -> list[ApiToken]:
    return list(
        db.session.scalars(
            select(ApiToken)
            .where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
            .order_by(ApiToken.created_at.desc())
        )
    )


def revoke_api_token(*, user_id: int, token_id: int, now: datetime) -> None:
    row = db.session.get(ApiToken, token_id)
    if row is None or row.user_id != user_id or row.revoked_at is not None:
        raise NotFoundError("No such token.")
    row.revoked_at = now
    db.session.commit()


def get_user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFoundError("No such user.")
    return user


def find_user(user_id: int) -> User | None:
    return db.session.get(User, user_id)


@dataclass(frozen=True)
class AccountChanges:
    display_name: str | None = None
    time_zone: str | None = None
    language: str | None = None
    state: str | None = None
    zip: str | None = None


def update_account(*, user_id: int, changes: AccountChanges) -> User:
    """Change a person's own name, zone, language and location; all or nothing."""
    user = get_user(user_id)
    errors: dict[str, list[str]] = {}
    if changes.display_name is not None and not changes.display_name.strip():
        errors["display_name"] = ["Enter a name."]
    if changes.time_zone is not None:
        try:
            validate_time_zone(changes.time_zone)
        except ValidationError as exc:
            errors.update({k: list(v) for k, v in exc.errors.items()})
    if changes.language is not None and changes.language not in LANGUAGES:
        errors["language"] = [f"'{changes.language}' is not a supported language code."]
    if changes.state is not None and changes.state and changes.state not in US_STATES:
        errors["state"] = [f"'{changes.state}' is not a US state code."]
    if (
        changes.zip is not None
        and changes.zip
        and not (len(changes.zip) == 5 and changes.zip.isdigit())
    ):
        errors["zip"] = ["Enter a 5-digit ZIP code."]
    if errors:
        raise ValidationError("Some fields need attention.", errors=errors)
    if changes.display_name is not None:
        user.display_name = changes.display_name.strip()
        if user.therapist is not None:
            user.therapist.display_name = user.display_name
    if changes.time_zone is not None:
        user.time_zone = changes.time_zone
    if changes.language is not None:
        user.language = changes.language
    if changes.state is not None:
        user.state = changes.state or None
    if changes.zip is not None:
        user.zip = changes.zip or None
    db.session.commit()
    return user


def request_password_reset(*, email: str, now: datetime, max_age_seconds: int) -> None:
    """Email a single-use, expiring link; silent when the email is unknown."""
    user = db.session.scalar(user_by_email(email))
    if user is None or user.status == AccountStatus.DISABLED.value:
        logger.info("password reset requested for an unknown or disabled address")
        return
    token = secrets.token_urlsafe(32)
    db.session.add(
        PasswordResetToken(
            user_id=user.id,
            token_hash=token_digest(token),
            created_at=now,
            expires_at=now + timedelta(seconds=max_age_seconds),
        )
    )
    account_mail.enqueue_password_reset(user=user, token=token, now=now)
    db.session.commit()


def reset_password(*, token: str, new_password: str, now: datetime) -> User:
    row = db.session.scalar(
        select(PasswordResetToken).where(PasswordResetToken.token_hash == token_digest(token))
    )
    if row is None or row.used_at is not None or row.expires_at <= now:
        raise ValidationError(
            "This reset link is invalid or has expired.",
            errors={"token": ["Request a new link."]},
        )
    user = get_user(row.user_id)
    _validate_password(new_password, email=user.email, name=user.display_name)
    user.password_hash = hash_password(new_password)
    end_every_session(user_id=user.id, now=now, commit=False)
    row.used_at = now
    # Other outstanding links die with this use.
    for other in db.session.scalars(
        select(PasswordResetToken).where(
            PasswordResetToken.user_id == user.id, PasswordResetToken.used_at.is_(None)
        )
    ):
        other.used_at = now
    db.session.commit()
    return user


def verify_password(user: User, password: str) -> bool:
    """Whether `password` is the person's current one (for confirming a grave step)."""
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
    return True


def change_password(
    *, user_id: int, current_password: str, new_password: str, now: datetime
) -> User:
    """A new password ends every session and every API token of the person; one commit."""
    user = get_user(user_id)
    try:
        _hasher.verify(user.password_hash, current_password)
    except (VerificationError, InvalidHashError):
        raise ValidationError(
            "The current password is not right.",
            errors={"current_password": ["The current password is not right."]},
        ) from None
    _validate_password(new_password, email=user.email, name=user.display_name)
    user.password_hash = hash_password(new_password)
    end_every_session(user_id=user.id, now=now, commit=False)
    db.session.commit()
    logger.info("password changed user=%s", user.id)
    return user


def list_pending_therapists() -> list[User]:
    return list(
        db.session.scalars(
            select(User)
            .where(User.role == Role.THERAPIST.value, User.status == AccountStatus.PENDING.value)
            .order_by(User.created_at)
        )
    )


def approve_therapist(*, user_id: int) -> User:
    user = get_user(user_id)
    if user.role != Role.THERAPIST.value or user.status != AccountStatus.PENDING.value:
        raise NotFoundError("No pending therapist with that id.")
    user.status = AccountStatus.ACTIVE.value
    db.session.commit()
    return user


def list_users(*, limit: int = 200) -> list[User]:
    return list(db.session.scalars(select(User).order_by(User.id.desc()).limit(limit)))
