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
from .groups import (
    GroupSeat,
    GroupStatus,
    GroupWaitlistEntry,
    SeatStatus,
    TherapyGroup,
    WaitlistStatus,
)
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
    "BookingCalendarEntry",
    "BookingSeries",
    "CalendarDetail",
    "CalendarFeedToken",
    "ClientPaymentProfile",
    "ClientProfile",
    "GroupSeat",
    "GroupStatus",
    "GroupWaitlistEntry",
    "IdempotencyRecord",
    "LedgerKind",
    "LedgerStatus",
    "NotificationPreference",
    "OutboxMessage",
    "OutboxStatus",
    "PasswordResetToken",
    "Payment",
    "Role",
    "SeatStatus",
    "StripeEvent",
    "TherapistPaymentSettings",
    "TherapistProfile",
    "TherapyGroup",
    "UTCDateTime",
    "User",
    "WaitlistStatus",
]
