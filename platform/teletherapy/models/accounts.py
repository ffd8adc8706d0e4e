"""People and their credentials: users, API tokens, password-reset tokens, profiles."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ARRAY, JSON, Float, ForeignKey, Index, String, func, select
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql import Select

from teletherapy.clock import utcnow
from teletherapy.domain.vocabularies import AccountStatus, Role
from teletherapy.models.base import Base


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        # Email is unique case-insensitively; we also store it lower-cased.
        Index("uq_users_email_lower", func.lower("email"), unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default=Role.CLIENT.value)
    status: Mapped[str] = mapped_column(String(16), default=AccountStatus.ACTIVE.value)
    display_name: Mapped[str] = mapped_column(String(120), default="")
    time_zone: Mapped[str] = mapped_column(String(64), default="America/New_York")
    language: Mapped[str] = mapped_column(String(8), default="en")
    state: Mapped[str | None] = mapped_column(String(2))
    zip: Mapped[str | None] = mapped_column(String(5))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]

    therapist: Mapped[TherapistProfile | None] = relationship(
        back_populates="user", uselist=False, lazy="joined"
    )

    # flask-login protocol
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.status == AccountStatus.ACTIVE.value

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        # "<id>:<sign-in key>": the key names a SignInSession row that sign-out ends.
        key = getattr(self, "_sign_in_key", None)
        return f"{self.id}:{key}" if key else str(self.id)

    @property
    def therapist_id(self) -> int | None:
        return self.therapist.id if self.therapist else None


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(80), default="API token")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    # Null only for tokens issued before tokens expired (0012_sign_in_sessions).
    expires_at: Mapped[datetime | None]


class SignInSession(Base):
    """One browser sign-in: the cookie names it, signing out or a new password ends it."""

    __tablename__ = "sign_in_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]


class PasswordResetToken(Base):
    __tablename__ = "password_reset_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class TherapistProfile(Base):
    """The practice side of a therapist account. Matching fields are added by migrations.

    Tags (modalities, languages, states ...) live in `therapist_tags`, prices in
    `therapist_fees` (models/matching.py). Offering online sessions means having
    online_state tags; in-office means an office location; home visits a home base.
    """

    __tablename__ = "therapist_profiles"
    __table_args__ = (
        # Prefilters for matching: bounding boxes on the office and home-visit base.
        Index("ix_therapist_profiles_office_lat_lon", "office_lat", "office_lon"),
        Index("ix_therapist_profiles_home_lat_lon", "home_lat", "home_lon"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    bio: Mapped[str] = mapped_column(String(2000), default="")
    license_type: Mapped[str] = mapped_column(String(40), default="")
    license_number: Mapped[str] = mapped_column(String(40), default="")
    license_state: Mapped[str | None] = mapped_column(String(2))
    npi: Mapped[str | None] = mapped_column(String(10))
    verified_at: Mapped[datetime | None] = mapped_column(index=True)
    accepting_new_clients: Mapped[bool] = mapped_column(default=True, index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Matching (0007_matching).
    gender: Mapped[str | None] = mapped_column(String(16))
    faith_integrated: Mapped[bool] = mapped_column(default=False, server_default="0")
    lgbtq_affirming: Mapped[bool] = mapped_column(default=False, server_default="0")
    offers_individual: Mapped[bool] = mapped_column(default=True, server_default="1")
    offers_group: Mapped[bool] = mapped_column(default=False, server_default="0")
    office_zip: Mapped[str | None] = mapped_column(String(5))
    office_lat: Mapped[float | None] = mapped_column(Float)
    office_lon: Mapped[float | None] = mapped_column(Float)
    home_zip: Mapped[str | None] = mapped_column(String(5))
    home_lat: Mapped[float | None] = mapped_column(Float)
    home_lon: Mapped[float | None] = mapped_column(Float)
    home_radius_km: Mapped[float | None] = mapped_column(Float)
    reduced_fee_weekly_cap: Mapped[int | None]
    photo_url: Mapped[str | None] = mapped_column(String(500))
    # Every tag as "kind:code" (0018_tag_codes), kept by a PostgreSQL trigger on
    # therapist_tags: matching tests tags on the profile row it reads anyway, not with a
    # probe per tag. SQLite leaves it NULL and matching reads therapist_tags there.
    tag_codes: Mapped[list[str] | None] = mapped_column(
        ARRAY(String(50)).with_variant(JSON(), "sqlite"), deferred=True
    )

    user: Mapped[User] = relationship(back_populates="therapist")

    @property
    def is_verified(self) -> bool:
        return self.verified_at is not None


class ClientProfile(Base):
    """What a client told us about their needs; intake fields are added by migrations."""

    __tablename__ = "client_profiles"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The last matching request (services/matching.py) and the band it resolved to;
    # the band is never shown to anyone else.
    intake: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    fee_band: Mapped[str | None] = mapped_column(String(8))


def user_by_email(email: str) -> Select[User]:
    return select(User).where(func.lower(User.email) == email.strip().lower())
