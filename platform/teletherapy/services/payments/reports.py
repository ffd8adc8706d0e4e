"""Reading payments: the ledger page, receipts, unpaid sessions, superbills, earnings."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select

from teletherapy.domain.booking import BookingStatus
from teletherapy.domain.errors import NotFoundError, ValidationError
from teletherapy.domain.payments import (
    PaymentMethod,
    cpt_code,
)
from teletherapy.extensions import db
from teletherapy.models import (
    Booking,
    LedgerKind,
    Payment,
    TherapistProfile,
    User,
)
from teletherapy.services.payments.ledger import (
    CARD_METHODS,
    PAID,
    net_paid_cents,
)
from teletherapy.services.payments.settings import (
    therapist_id_of,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class LedgerLine:
    payment: Payment
    booking: Booking
    client_name: str
    therapist_name: str


def list_ledger(*, actor: User) -> list[LedgerLine]:
    """Charges, refunds and fees the person is party to, newest first."""
    query = select(Payment, Booking).join(Booking, Booking.id == Payment.booking_id)
    if actor.role == "therapist":
        query = query.where(Payment.therapist_id == therapist_id_of(actor))
    else:
        query = query.where(Payment.client_id == actor.id)
    rows = db.session.execute(query.order_by(Payment.created_at.desc(), Payment.id.desc())).all()
    return _with_names([(p, b) for p, b in rows])


def get_receipt(*, actor: User, payment_id: int) -> LedgerLine:
    payment = db.session.get(Payment, payment_id)
    if payment is None or not _is_party(actor, payment.client_id, payment.therapist_id):
        raise NotFoundError("No such payment.")
    booking = db.session.get(Booking, payment.booking_id)
    assert booking is not None
    return _with_names([(payment, booking)])[0]


def unpaid_sessions(*, therapist: User, now: datetime) -> list[Booking]:
    """Sessions that took place to be paid at the session and not marked paid yet."""
    therapist_id = therapist_id_of(therapist)
    paid_or_card = select(Payment.booking_id).where(
        Payment.kind == LedgerKind.CHARGE.value,
        or_(Payment.status.in_(PAID), Payment.method.in_(CARD_METHODS)),
    )
    return list(
        db.session.scalars(
            select(Booking)
            .where(
                Booking.therapist_id == therapist_id,
                Booking.client_id.is_not(None),
                Booking.status.in_((BookingStatus.CONFIRMED, BookingStatus.COMPLETED)),
                Booking.fee_cents > 0,
                Booking.start_at <= now,
                Booking.id.not_in(paid_or_card),
            )
            .order_by(Booking.start_at)
        )
    )


@dataclass(frozen=True, slots=True)
class SuperbillLine:
    booking_id: int
    service_date: date
    cpt: str
    minutes: int
    fee_cents: int
    paid_cents: int
    setting: str


@dataclass(frozen=True, slots=True)
class SuperbillProvider:
    name: str
    license_type: str
    license_number: str
    license_state: str
    npi: str
    lines: list[SuperbillLine]

    @property
    def total_paid_cents(self) -> int:
        return sum(line.paid_cents for line in self.lines)

    @property
    def total_fee_cents(self) -> int:
        return sum(line.fee_cents for line in self.lines)


@dataclass(frozen=True, slots=True)
class Superbill:
    client_name: str
    client_email: str
    period: str
    issued_on: date
    providers: list[SuperbillProvider] = field(default_factory=list)


def therapist_superbill(*, therapist: User, booking_id: int, now: datetime) -> Superbill:
    """The superbill of one of the therapist's own sessions (to give the client); 404 else."""
    booking = db.session.get(Booking, booking_id)
    if booking is None or therapist.therapist_id is None:
        raise NotFoundError("No such session.")
    if booking.therapist_id != therapist.therapist_id or booking.client_id is None:
        raise NotFoundError("No such session.")
    client = db.session.get(User, booking.client_id)
    if client is None:
        raise NotFoundError("No such session.")
    return superbill(client=client, now=now, booking_id=booking_id)


def superbill(
    *,
    client: User,
    now: datetime,
    booking_id: int | None = None,
    month: str | None = None,
) -> Superbill:
    """Sessions that took place, with CPT codes and amounts paid, per therapist."""
    zone = ZoneInfo(client.time_zone)
    query = select(Booking).where(
        Booking.client_id == client.id,
        Booking.status.in_((BookingStatus.CONFIRMED, BookingStatus.COMPLETED)),
        Booking.start_at <= now,
    )
    if booking_id is not None:
        query = query.where(Booking.id == booking_id)
        period = f"Session #{booking_id}"
    elif month is not None:
        first = _parse_month(month)
        start = datetime(first.year, first.month, 1, tzinfo=zone)
        end = datetime(first.year + first.month // 12, first.month % 12 + 1, 1, tzinfo=zone)
        query = query.where(Booking.start_at >= start, Booking.start_at < end)
        period = start.strftime("%B %Y")
    else:
        raise ValidationError("Choose a session or a month.", errors={"month": ["Required."]})
    bookings = list(db.session.scalars(query.order_by(Booking.start_at)))
    if booking_id is not None and not bookings:
        raise NotFoundError("No such session.")
    by_therapist: dict[int, list[SuperbillLine]] = {}
    for booking in bookings:
        minutes = int((booking.end_at - booking.start_at).total_seconds() // 60)
        by_therapist.setdefault(booking.therapist_id, []).append(
            SuperbillLine(
                booking_id=booking.id,
                service_date=booking.start_at.astimezone(ZoneInfo(booking.time_zone)).date(),
                cpt=cpt_code(minutes, booking.group_id is not None),
                minutes=minutes,
                fee_cents=booking.fee_cents,
                paid_cents=net_paid_cents(booking.id),
                setting=booking.setting,
            )
        )
    providers = []
    for therapist_id, lines in by_therapist.items():
        profile = db.session.get(TherapistProfile, therapist_id)
        assert profile is not None
        providers.append(
            SuperbillProvider(
                name=profile.display_name,
                license_type=profile.license_type,
                license_number=profile.license_number,
                license_state=profile.license_state or "",
                npi=profile.npi or "",
                lines=lines,
            )
        )
    return Superbill(
        client_name=client.display_name,
        client_email=client.email,
        period=period,
        issued_on=now.astimezone(zone).date(),
        providers=providers,
    )


@dataclass(frozen=True, slots=True)
class BandEarnings:
    band: str
    sessions: int
    collected_cents: int


@dataclass(frozen=True, slots=True)
class Earnings:
    bands: list[BandEarnings]
    sessions: int
    collected_cents: int
    refunded_cents: int
    fees_cents: int

    @property
    def net_cents(self) -> int:
        return self.collected_cents - self.refunded_cents


def earnings(*, therapist: User, now: datetime) -> Earnings:
    """Sessions held and money by fee band, with refunds and late-cancel fees."""
    therapist_id = therapist_id_of(therapist)
    sessions = dict(
        db.session.execute(
            select(Booking.fee_band, func.count(Booking.id))
            .where(
                Booking.therapist_id == therapist_id,
                Booking.client_id.is_not(None),
                Booking.status.in_((BookingStatus.CONFIRMED, BookingStatus.COMPLETED)),
                Booking.start_at <= now,
            )
            .group_by(Booking.fee_band)
        ).all()
    )
    collected_by_band = dict(
        db.session.execute(
            select(Booking.fee_band, func.sum(Payment.amount_cents))
            .join(Booking, Booking.id == Payment.booking_id)
            .where(
                Payment.therapist_id == therapist_id,
                Payment.kind == LedgerKind.CHARGE.value,
                Payment.status.in_(PAID),
            )
            .group_by(Booking.fee_band)
        ).all()
    )
    sums = dict(
        db.session.execute(
            select(Payment.kind, func.sum(Payment.amount_cents))
            .where(
                Payment.therapist_id == therapist_id,
                Payment.status.in_(PAID),
                Payment.kind.in_((LedgerKind.REFUND.value, LedgerKind.LATE_FEE.value)),
            )
            .group_by(Payment.kind)
        ).all()
    )
    # A fee kept out of a payment is already in `collected`; one charged on its own is not.
    separate_fees = db.session.scalar(
        select(func.coalesce(func.sum(Payment.amount_cents), 0)).where(
            Payment.therapist_id == therapist_id,
            Payment.kind == LedgerKind.LATE_FEE.value,
            Payment.status.in_(PAID),
            or_(
                Payment.idempotency_key.is_not(None),
                Payment.method == PaymentMethod.PAY_AT_SESSION.value,
            ),
        )
    )
    bands = sorted(set(sessions) | set(collected_by_band), key=lambda b: (b is None, b or ""))
    return Earnings(
        bands=[
            BandEarnings(
                band=band or "—",
                sessions=int(sessions.get(band, 0)),
                collected_cents=int(collected_by_band.get(band) or 0),
            )
            for band in bands
        ],
        sessions=int(sum(sessions.values())),
        collected_cents=int(sum(int(v or 0) for v in collected_by_band.values()))
        + int(separate_fees or 0),
        refunded_cents=int(sums.get(LedgerKind.REFUND.value) or 0),
        fees_cents=int(sums.get(LedgerKind.LATE_FEE.value) or 0),
    )


def _with_names(pairs: list[tuple[Payment, Booking]]) -> list[LedgerLine]:
    user_ids = {p.client_id for p, _ in pairs}
    therapist_ids = {p.therapist_id for p, _ in pairs}
    users = {
        u.id: u.display_name
        for u in db.session.scalars(select(User).where(User.id.in_(user_ids))).unique()
    }
    therapists = {
        t.id: t.display_name
        for t in db.session.scalars(
            select(TherapistProfile).where(TherapistProfile.id.in_(therapist_ids))
        )
    }
    return [
        LedgerLine(p, b, users.get(p.client_id, ""), therapists.get(p.therapist_id, ""))
        for p, b in pairs
    ]


def _parse_month(month: str) -> date:
    try:
        year, number = month.split("-")
        return date(int(year), int(number), 1)
    except ValueError:
        raise ValidationError(
            "Month not understood.", errors={"month": ["Use the form 2026-12."]}
        ) from None


def _is_party(actor: User, client_id: int | None, therapist_id: int) -> bool:
    if actor.role == "therapist":
        return actor.therapist_id == therapist_id
    return actor.role == "client" and actor.id == client_id
