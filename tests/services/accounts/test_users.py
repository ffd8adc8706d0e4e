"""Accounts: unique emails, argon2id with rehash, uniform sign-in failures, reset links."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from teletherapy.domain.errors import AuthenticationError, ValidationError
from teletherapy.models import OutboxMessage, PasswordResetToken, User
from teletherapy.services.accounts import users as accounts
from tests.conftest import PASSWORD


def test_email_is_unique_whatever_its_case(make_user: Any) -> None:
    make_user(email="Ana.R@Example.org")
    with pytest.raises(ValidationError) as caught:
        make_user(email="ana.r@example.ORG")
    assert "email" in caught.value.errors


@pytest.mark.usefixtures("real_password_hashing")
def test_passwords_are_stored_as_argon2id(make_user: Any) -> None:
    user = make_user()
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash
    assert not PasswordHasher().check_needs_rehash(user.password_hash)  # production cost


@pytest.mark.usefixtures("real_password_hashing")
def test_sign_in_rehashes_when_parameters_change(make_user: Any, db: Any, now: datetime) -> None:
    user = make_user()
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)
    user.password_hash = weak.hash(PASSWORD)
    db.session.commit()
    old = user.password_hash
    accounts.authenticate(email=user.email, password=PASSWORD, now=now)
    assert user.password_hash != old
    assert not PasswordHasher().check_needs_rehash(user.password_hash)


def test_failed_sign_in_says_the_same_for_unknown_email_and_wrong_password(
    make_user: Any, now: datetime
) -> None:
    user = make_user()
    with pytest.raises(AuthenticationError) as wrong_password:
        accounts.authenticate(email=user.email, password="nope-nope-nope", now=now)
    with pytest.raises(AuthenticationError) as unknown:
        accounts.authenticate(email="nobody@example.org", password="nope-nope-nope", now=now)
    assert wrong_password.value.detail == unknown.value.detail


def test_pending_therapist_cannot_sign_in_until_approved(db: Any, now: datetime) -> None:
    user = accounts.sign_up(
        email="t@example.org",
        password=PASSWORD,
        display_name="T",
        role="therapist",
        time_zone="America/Chicago",
        language="en",
    )
    assert user.status == "pending"
    with pytest.raises(AuthenticationError, match="waiting for an administrator"):
        accounts.authenticate(email="t@example.org", password=PASSWORD, now=now)
    accounts.approve_therapist(user_id=user.id)
    assert accounts.authenticate(email="t@example.org", password=PASSWORD, now=now).id == user.id


def test_legacy_time_zone_alias_is_refused_with_the_canonical_name(make_user: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        make_user(time_zone="US/Eastern")
    assert "America/New_York" in caught.value.errors["time_zone"][0]


def _reset_token_from_outbox(db: Any) -> str:
    message = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id.desc())).first()
    return message.body_text.split("/reset-password/")[1].split()[0]


def test_reset_link_works_once_and_expires(make_user: Any, db: Any, now: datetime) -> None:
    user = make_user()
    accounts.request_password_reset(email=user.email.upper(), now=now, max_age_seconds=3600)
    token = _reset_token_from_outbox(db)
    stored = db.session.scalar(select(PasswordResetToken))
    assert stored.token_hash != token  # only the digest is stored
    accounts.reset_password(token=token, new_password="a-new-password-1", now=now)
    with pytest.raises(ValidationError):
        accounts.reset_password(token=token, new_password="another-password-2", now=now)
    accounts.authenticate(email=user.email, password="a-new-password-1", now=now)

    accounts.request_password_reset(email=user.email, now=now, max_age_seconds=3600)
    late = now + timedelta(seconds=3601)
    with pytest.raises(ValidationError):
        accounts.reset_password(token=_reset_token_from_outbox(db), new_password="x" * 12, now=late)


def test_reset_for_unknown_email_sends_nothing(db: Any, now: datetime) -> None:
    accounts.request_password_reset(email="ghost@example.org", now=now, max_age_seconds=60)
    assert db.session.scalar(select(OutboxMessage)) is None


def test_api_tokens_are_stored_hashed_and_can_be_revoked(make_user: Any, now: datetime) -> None:
    user = make_user()
    token = accounts.issue_api_token(email=user.email, password=PASSWORD, now=now).token
    assert accounts.find_user_for_token(token, now=now).id == user.id
    [row] = accounts.list_api_tokens(user_id=user.id)
    assert row.token_hash != token and len(row.token_hash) == 64
    accounts.revoke_api_token(user_id=user.id, token_id=row.id, now=now)
    assert accounts.find_user_for_token(token, now=now) is None


def test_one_user_cannot_revoke_anothers_token(make_user: Any, now: datetime) -> None:
    owner, other = make_user(), make_user()
    accounts.issue_api_token(email=owner.email, password=PASSWORD, now=now)
    [row] = accounts.list_api_tokens(user_id=owner.id)
    from teletherapy.domain.errors import NotFoundError

    with pytest.raises(NotFoundError):
        accounts.revoke_api_token(user_id=other.id, token_id=row.id, now=now)


def test_update_account_is_all_or_nothing(make_user: Any, db: Any) -> None:
    user = make_user(display_name="Before")
    with pytest.raises(ValidationError) as caught:
        accounts.update_account(
            user_id=user.id,
            changes=accounts.AccountChanges(display_name="After", time_zone="Mars/Olympus"),
        )
    assert "time_zone" in caught.value.errors
    db.session.expire_all()
    assert db.session.get(User, user.id).display_name == "Before"
