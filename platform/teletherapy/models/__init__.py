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
from .matching import TAG_KINDS, FeeBandRow, PovertyGuidelineRow, TherapistFee, TherapistTag
from .outbox import OutboxMessage, OutboxStatus
from .scheduling import (
    ACTIVE_STATUSES,
    AvailabilityOverride,
    AvailabilityRule,
    AvailabilitySettings,
    Booking,
    BookingSeries,
    IdempotencyRecord,
)

__all__ = [
    "ACTIVE_STATUSES",
    "TAG_KINDS",
    "AccountStatus",
    "ApiToken",
    "AvailabilityOverride",
    "AvailabilityRule",
    "AvailabilitySettings",
    "Base",
    "Booking",
    "BookingSeries",
    "ClientProfile",
    "FeeBandRow",
    "IdempotencyRecord",
    "OutboxMessage",
    "OutboxStatus",
    "PasswordResetToken",
    "PovertyGuidelineRow",
    "Role",
    "TherapistFee",
    "TherapistProfile",
    "TherapistTag",
    "UTCDateTime",
    "User",
]
