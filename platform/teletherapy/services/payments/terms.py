"""What a session costs and what cancelling it costs: the money shown where people decide.

The confirm page, the cancel page and a cancelled session's page read these same
functions, so what a person is told and what the ledger then records cannot drift:
the cancel preview runs the very policy (`refund_for_cancellation`, with the same
inputs as `ledger.decide`) that the cancellation itself runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import select

from teletherapy.domain.booking import is_late_cancellation, weekly_series_starts
from teletherapy.domain.payments import (
    LedgerKind,
    LedgerStatus,
    PaymentMethod,
    refund_for_cancellation,
)
from teletherapy.extensions import db
from teletherapy.models import AvailabilitySettings, ClientPaymentProfile, Payment
from teletherapy.services.bookings import get_booking_for
from teletherapy.services.bookings.queries import cancellation_window, party_of
from teletherapy.services.matching import fee_bands
from teletherapy.services.matching import search as matching
from teletherapy.services.payments.ledger import paid_cents
from teletherapy.services.payments.settings import get_settings, offered_methods

__all__ = [
    "BookingTerms",
    "CancellationCost",
    "MoneyOutcome",
    "booking_terms",
    "cancellation_cost",
    "money_outcome",
]


@dataclass(frozen=True)
class BookingTerms:
    """Everything the confirm page states before a client books."""

    price_cents: int
    band_code: str
    band_label: str
    methods: tuple[PaymentMethod, ...]  # what the client may choose, in the therapist's order
    window_hours: int
    cancel_free_until: datetime  # start - window: after this instant a cancellation is late
    is_inside_window: bool  # booking now means any cancellation is already late
    late_fee_cents: int  # capped at the price, as the policy caps it
    first_late_fee_waived: bool  # the client's first late cancellation would be free
    sessions: int  # 1, or the weeks of a series
    series_starts: tuple[datetime, ...]

    @property
    def total_cents(self) -> int:
        return self.price_cents * self.sessions


def booking_terms(
    *,
    client_id: int,
    therapist_id: int,
    start: datetime,
    now: datetime,
    repeat_weekly: int = 1,
    stripe_enabled: bool,
) -> BookingTerms:
    """Price, ways to pay, cancellation deadline and late fee for booking `start`."""
    price_cents, band_code = matching.price_for_client(
        therapist_id=therapist_id, client_id=client_id
    )
    band = fee_bands.find_fee_band(band_code)
    settings = get_settings(therapist_id=therapist_id)
    window = cancellation_window(therapist_id)
    availability = db.session.get(AvailabilitySettings, therapist_id)
    zone = availability.time_zone if availability is not None else "UTC"
    count = max(1, repeat_weekly)
    return BookingTerms(
        price_cents=price_cents,
        band_code=band_code,
        band_label=band.label if band is not None else band_code,
        methods=tuple(offered_methods(therapist_id=therapist_id, stripe_enabled=stripe_enabled)),
        window_hours=window,
        cancel_free_until=start - timedelta(hours=window),
        is_inside_window=is_late_cancellation(start, now, window),
        late_fee_cents=min(settings.late_cancel_fee_cents, price_cents),
        first_late_fee_waived=settings.waive_first_late_cancel and _waivers_used(client_id) == 0,
        sessions=count,
        series_starts=tuple(weekly_series_starts(start, zone, count)),
    )


@dataclass(frozen=True)
class CancellationCost:
    """What cancelling a session now would cost the client, in money, before they confirm."""

    by: Literal["client", "therapist"]
    is_late: bool
    window_hours: int
    cancel_free_until: datetime
    price_cents: int
    paid_cents: int
    fee_cents: int  # what the client loses (kept from the payment or owed)
    refund_cents: int  # what goes back to the client's card
    is_waived: bool  # a late fee that the first-time waiver covers
    late_fee_cents: int  # the therapist's fee, capped at the price


def cancellation_cost(*, booking_id: int, user_id: int, now: datetime) -> CancellationCost:
    """The refund and fee that cancelling now would record (the same policy as the ledger)."""
    booking = get_booking_for(booking_id=booking_id, user_id=user_id)
    by: Literal["client", "therapist"] = (
        "therapist" if party_of(booking, user_id) == "therapist" else "client"
    )
    window = cancellation_window(booking.therapist_id)
    is_late = is_late_cancellation(booking.start_at, now, window, by)
    settings = get_settings(therapist_id=booking.therapist_id)
    paid = min(paid_cents(booking.id), booking.fee_cents)
    client_id = booking.client_id
    decision = refund_for_cancellation(
        price_cents=booking.fee_cents,
        paid_cents=paid,
        cancelled_by=by,
        is_late=is_late,
        late_fee_cents=settings.late_cancel_fee_cents,
        is_first_late_cancellation=client_id is not None and _waivers_used(client_id) == 0,
        waive_first=settings.waive_first_late_cancel,
        window_hours=window,
    )
    has_price = booking.fee_cents > 0 and client_id is not None
    return CancellationCost(
        by=by,
        is_late=is_late,
        window_hours=window,
        cancel_free_until=booking.start_at - timedelta(hours=window),
        price_cents=booking.fee_cents,
        paid_cents=paid,
        fee_cents=decision.fee_cents if has_price else 0,
        refund_cents=decision.refund_cents if has_price else 0,
        is_waived=has_price and decision.waiver is not None,
        late_fee_cents=min(settings.late_cancel_fee_cents, booking.fee_cents),
    )


@dataclass(frozen=True)
class MoneyOutcome:
    """What a session ended up costing, from the ledger: paid, refunded, fee, waived."""

    paid_cents: int
    refunded_cents: int
    fee_cents: int
    fee_owed_cents: int  # part of the fee not yet collected
    fee_waived: bool

    @property
    def net_cents(self) -> int:
        """What the client is out of pocket (or will be, once an owed fee is settled)."""
        return self.paid_cents - self.refunded_cents + self.fee_owed_cents


_PAID = (LedgerStatus.SUCCEEDED, LedgerStatus.REFUNDED, LedgerStatus.PARTIALLY_REFUNDED)


def money_outcome(*, booking_id: int, user_id: int) -> MoneyOutcome:
    """The ledger's lines for one session, summed for the person's eyes."""
    booking = get_booking_for(booking_id=booking_id, user_id=user_id)
    lines = list(
        db.session.scalars(
            select(Payment).where(Payment.booking_id == booking.id).order_by(Payment.id)
        )
    )
    paid = sum(p.amount_cents for p in lines if p.kind == LedgerKind.CHARGE and p.status in _PAID)
    refunded = sum(
        p.amount_cents
        for p in lines
        if p.kind == LedgerKind.REFUND and p.status not in (LedgerStatus.FAILED, LedgerStatus.VOID)
    )
    fees = [p for p in lines if p.kind == LedgerKind.LATE_FEE]
    kept = sum(
        p.amount_cents
        for p in fees
        if p.status in (LedgerStatus.SUCCEEDED, LedgerStatus.PENDING, LedgerStatus.PROCESSING)
    )
    owed = sum(p.amount_cents for p in fees if p.status == LedgerStatus.UNPAID)
    return MoneyOutcome(
        paid_cents=paid,
        refunded_cents=refunded,
        fee_cents=kept + owed,
        fee_owed_cents=owed,
        fee_waived=any(p.status == LedgerStatus.WAIVED for p in fees),
    )


def _waivers_used(client_id: int) -> int:
    profile = db.session.get(ClientPaymentProfile, client_id)
    return profile.late_cancellations_waived if profile is not None else 0
