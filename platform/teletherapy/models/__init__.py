"""SQLAlchemy models: tables, constraints and query builders; no business rules.

Every model module is imported here so that Alembic and `db.create_all` see them all.
"""

from teletherapy.models.accounts import (
    AccountStatus,
    ApiToken,
    ClientProfile,
    PasswordResetToken,
    Role,
    TherapistProfile,
    User,
)
from teletherapy.models.audit import AuditEvent
from teletherapy.models.base import Base, UTCDateTime
from teletherapy.models.calendars import (
    BookingCalendarEntry,
    CalendarDetail,
    CalendarFeedToken,
    NotificationPreference,
)
from teletherapy.models.groups import (
    GroupSeat,
    GroupStatus,
    GroupWaitlistEntry,
    SeatStatus,
    TherapyGroup,
    WaitlistStatus,
)
from teletherapy.models.matching import (
    TAG_KINDS,
    FeeBandRow,
    PovertyGuidelineRow,
    TherapistFee,
    TherapistTag,
)
from teletherapy.models.outbox import OutboxMessage, OutboxStatus
from teletherapy.models.payments import (
    ClientPaymentProfile,
    LedgerKind,
    LedgerStatus,
    Payment,
    StripeEvent,
    TherapistPaymentSettings,
)
from teletherapy.models.scheduling import (
    ACTIVE_STATUSES,
    AvailabilityOverride,
    AvailabilityRule,
    AvailabilitySettings,
    Booking,
    BookingSeries,
    IdempotencyRecord,
)
from teletherapy.models.screening import (
    Screening,
    ScreeningAlert,
    ScreeningCadence,
    ScreeningConsent,
)

__all__ = [
    "ACTIVE_STATUSES",
    "TAG_KINDS",
    "AccountStatus",
    "ApiToken",
    "AuditEvent",
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
    "FeeBandRow",
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
    "PovertyGuidelineRow",
    "Role",
    "Screening",
    "ScreeningAlert",
    "ScreeningCadence",
    "ScreeningConsent",
    "SeatStatus",
    "StripeEvent",
    "TherapistFee",
    "TherapistPaymentSettings",
    "TherapistProfile",
    "TherapistTag",
    "TherapyGroup",
    "UTCDateTime",
    "User",
    "WaitlistStatus",
]
