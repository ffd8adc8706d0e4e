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
from .calendars import (
    BookingCalendarEntry,
    CalendarDetail,
    CalendarFeedToken,
    NotificationPreference,
)
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
    "AccountStatus",
    "ApiToken",
    "AvailabilityOverride",
    "AvailabilityRule",
    "AvailabilitySettings",
    "Base",
    "Booking",
    "BookingCalendarEntry",
    "BookingSeries",
    "CalendarDetail",
    "CalendarFeedToken",
    "ClientProfile",
    "IdempotencyRecord",
    "NotificationPreference",
    "OutboxMessage",
    "OutboxStatus",
    "PasswordResetToken",
    "Role",
    "TherapistProfile",
    "UTCDateTime",
    "User",
]
