"""SQLAlchemy models: tables, constraints and query builders; no business rules.

Every model module is imported here so that Alembic and `db.create_all` see them all.
"""

from .accounts import (
    AccountStatus,
    ApiToken,
    ClientProfile,
    PasswordResetToken,
    Role,
    TherapistProfile,
    User,
)
from .base import Base, UTCDateTime

__all__ = [
    "AccountStatus",
    "ApiToken",
    "Base",
    "ClientProfile",
    "PasswordResetToken",
    "Role",
    "TherapistProfile",
    "UTCDateTime",
    "User",
]
