"""SQLAlchemy models: tables, constraints and query builders; no business rules.

Every model module is imported here so that Alembic and `db.create_all` see them all.
`Role`, `AccountStatus` and `CalendarDetail` live in `domain.vocabularies` (web code needs
them and never imports models); they are re-exported here for the services' convenience.
"""

from teletherapy.domain.groups import GroupStatus, SeatStatus, WaitlistStatus
from teletherapy.domain.payments import LedgerKind, LedgerStatus
from teletherapy.domain.vocabularies import AccountStatus, CalendarDetail, Role
from teletherapy.models.accounts import (
    ApiToken,
    ClientProfile,
    PasswordResetToken,
    SignInSession,
    TherapistProfile,
    User,
)
from teletherapy.models.audit import AuditEvent
from teletherapy.models.base import Base, UTCDateTime
from teletherapy.models.calendars import (
    BookingCalendarEntry,
    CalendarFeedToken,
    NotificationPreference,
)
from teletherapy.models.equity import EquityCareStart, EquityFirstSearch, EquitySearch
from teletherapy.models.feed_texts import BookingFeedText
from teletherapy.models.groups import GroupSeat, GroupWaitlistEntry, TherapyGroup
from teletherapy.models.matching import (
    TAG_KINDS,
    FeeBandRow,
    OnlineListing,
    PovertyGuidelineRow,
    TherapistFee,
    TherapistTag,
)
from teletherapy.models.openings import TherapistOpening
from teletherapy.models.outbox import OutboxMessage, OutboxStatus
from teletherapy.models.payments import (
    ClientPaymentProfile,
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
    "BookingFeedText",
    "BookingSeries",
    "CalendarDetail",
    "CalendarFeedToken",
    "ClientPaymentProfile",
    "ClientProfile",
    "EquityCareStart",
    "EquityFirstSearch",
    "EquitySearch",
    "FeeBandRow",
    "GroupSeat",
    "GroupStatus",
    "GroupWaitlistEntry",
    "IdempotencyRecord",
    "LedgerKind",
    "LedgerStatus",
    "NotificationPreference",
    "OnlineListing",
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
    "SignInSession",
    "StripeEvent",
    "TherapistFee",
    "TherapistOpening",
    "TherapistPaymentSettings",
    "TherapistProfile",
    "TherapistTag",
    "TherapyGroup",
    "UTCDateTime",
    "User",
    "WaitlistStatus",
]
