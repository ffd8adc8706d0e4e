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
from .outbox import OutboxMessage, OutboxStatus
from .payments import (
    ClientPaymentProfile,
    LedgerKind,
    LedgerStatus,
    Payment,
    StripeEvent,
    TherapistPaymentSettings,
)
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
    "AccountStatus",
    "ApiToken",
    "AvailabilityOverride",
    "AvailabilityRule",
    "AvailabilitySettings",
    "Base",
    "Booking",
    "BookingSeries",
    "ClientPaymentProfile",
    "ClientProfile",
    "IdempotencyRecord",
    "LedgerKind",
    "LedgerStatus",
    "OutboxMessage",
    "OutboxStatus",
    "PasswordResetToken",
    "Payment",
    "Role",
    "StripeEvent",
    "TherapistPaymentSettings",
    "TherapistProfile",
    "UTCDateTime",
    "User",
]
