"""Payment policy: ways to pay, payment states, refunds and late fees, CPT codes for superbills."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Final, Literal

from teletherapy.domain.booking import BookingStatus
from teletherapy.domain.errors import Text
from teletherapy.domain.money import format_cents

CancelledBy = Literal["client", "therapist"]
CptCode = Literal["90832", "90834", "90837", "90853"]


class PaymentMethod(StrEnum):
    """How a client pays for a session; a therapist chooses which they accept."""

    PAY_NOW = "pay_now"
    CARD_ON_FILE = "card_on_file"
    PAY_AT_SESSION = "pay_at_session"


# How long a new booking is held while the client pays by card.
PAYMENT_HOLD_MINUTES: Final = 15


def offered_methods(
    *,
    accepts_pay_now: bool,
    accepts_card_on_file: bool,
    accepts_pay_at_session: bool,
    cards_enabled: bool,
) -> list[PaymentMethod]:
    """What a client may choose: the therapist's choices that work here (never empty)."""
    methods: list[PaymentMethod] = []
    if cards_enabled and accepts_pay_now:
        methods.append(PaymentMethod.PAY_NOW)
    if cards_enabled and accepts_card_on_file:
        methods.append(PaymentMethod.CARD_ON_FILE)
    if accepts_pay_at_session or not methods:
        methods.append(PaymentMethod.PAY_AT_SESSION)
    return methods


def holds_for_payment(methods: list[PaymentMethod]) -> bool:
    """A new booking waits for payment when a card can be taken at booking.

    The pay page then offers every method the therapist accepts (paying at the
    session included), so a hold never forces a card on anyone.
    """
    return methods != [PaymentMethod.PAY_AT_SESSION]


class LedgerKind(StrEnum):
    CHARGE = "charge"  # the price of a session, paid by the client
    REFUND = "refund"  # money going back to the client
    LATE_FEE = "late_fee"  # a late-cancel or no-show fee, kept or charged


class LedgerStatus(StrEnum):
    """The `PaymentStatus` values, plus states of our own bookkeeping."""

    UNPAID = "unpaid"
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    REFUNDED = "refunded"
    PARTIALLY_REFUNDED = "partially_refunded"
    WAIVED = "waived"
    PROCESSING = "processing"  # claimed by a sweep that is calling Stripe right now
    VOID = "void"  # a charge that will never be collected (the session was cancelled)


@dataclass(frozen=True, slots=True)
class LedgerActions:
    """What a ledger line allows (the page adds who may do it: the therapist or the client)."""

    can_waive: bool
    can_mark_fee_paid: bool
    can_pay: bool
    has_superbill: bool


def ledger_actions(
    *,
    kind: str,
    status: str,
    method: str,
    amount_cents: int,
    booking_status: str,
) -> LedgerActions:
    """Waive a late fee (owed, failed or taken), mark an owed in-person fee paid, pay a
    card charge still pending or failed, a superbill for a paid session that took place."""
    is_fee = kind == LedgerKind.LATE_FEE
    is_charge = kind == LedgerKind.CHARGE
    return LedgerActions(
        can_waive=is_fee
        and status
        in (LedgerStatus.PENDING, LedgerStatus.UNPAID, LedgerStatus.FAILED, LedgerStatus.SUCCEEDED)
        and amount_cents > 0,
        can_mark_fee_paid=is_fee
        and status == LedgerStatus.UNPAID
        and method == PaymentMethod.PAY_AT_SESSION,
        can_pay=is_charge
        and method in (PaymentMethod.PAY_NOW, PaymentMethod.CARD_ON_FILE)
        and status in (LedgerStatus.PENDING, LedgerStatus.FAILED),
        has_superbill=is_charge
        and status in (LedgerStatus.SUCCEEDED, LedgerStatus.PARTIALLY_REFUNDED)
        and booking_status in (BookingStatus.CONFIRMED, BookingStatus.COMPLETED),
    )


class PaymentStatus(StrEnum):
    UNPAID = "unpaid"
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    REFUNDED = "refunded"
    PARTIALLY_REFUNDED = "partially_refunded"
    WAIVED = "waived"


class Waiver(StrEnum):
    """Why a late-cancellation fee was not charged (recorded: the first waiver is used once)."""

    FIRST_LATE_CANCELLATION = "first_late_cancellation"
    HARDSHIP = "hardship"


@dataclass(frozen=True, slots=True)
class Decision:
    """What happens to the money when a booking is cancelled or missed.

    `refund_cents` goes back from what was paid, `fee_cents` is the whole fee kept or
    owed, `charge_cents` is the part of the fee not covered by the payment (to charge
    the card on file). Always: paid - refund + charge == fee.
    """

    refund_cents: int
    fee_cents: int
    reason: str
    charge_cents: int = 0
    waiver: Waiver | None = None


def refund_for_cancellation(
    price_cents: int,
    paid_cents: int,
    cancelled_by: CancelledBy,
    is_late: bool,
    late_fee_cents: int,
    is_first_late_cancellation: bool,
    waive_first: bool = True,
    hardship_waiver: bool = False,
    *,
    is_no_show: bool = False,
    window_hours: int = 24,
) -> Decision:
    """Refund and fee for a cancelled (or missed) session.

    A therapist's cancellation is always refunded in full. A client who cancels
    before the window gets everything back. Inside the window, or on a no-show, the
    fee is the therapist's late fee capped at the session price, unless waived: a
    hardship waiver first (it is the therapist's explicit choice and leaves the
    client's free first waiver unused), then the first late cancellation.
    """
    for name, value in (
        ("price_cents", price_cents),
        ("paid_cents", paid_cents),
        ("late_fee_cents", late_fee_cents),
    ):
        if value < 0:
            raise ValueError(f"{name} must not be negative: {value}")
    if paid_cents > price_cents:
        raise ValueError(f"paid {paid_cents} exceeds the price {price_cents}")
    if cancelled_by not in ("client", "therapist"):
        raise ValueError(f"cancelled_by must be 'client' or 'therapist': {cancelled_by!r}")

    refund_or_none = "full refund" if paid_cents else "no charge"
    if cancelled_by == "therapist":
        return Decision(paid_cents, 0, _reason("therapist", refund_or_none))
    if not (is_late or is_no_show):
        return Decision(paid_cents, 0, _reason("early", refund_or_none, hours=window_hours))

    what = "no_show" if is_no_show else "late"
    if hardship_waiver:
        return Decision(
            paid_cents, 0, _reason(what, "hardship", hours=window_hours), waiver=Waiver.HARDSHIP
        )
    if waive_first and is_first_late_cancellation:
        return Decision(
            paid_cents,
            0,
            Text("First late cancellation waived"),
            waiver=Waiver.FIRST_LATE_CANCELLATION,
        )
    fee = min(late_fee_cents, price_cents)
    if fee == 0:
        return Decision(paid_cents, 0, _reason(what, refund_or_none, hours=window_hours))
    kept = min(paid_cents, fee)
    return Decision(
        refund_cents=paid_cents - kept,
        fee_cents=fee,
        reason=_reason(what, "fee", hours=window_hours, fee=format_usd(fee)),
        charge_cents=fee - kept,
    )


# Every reason the ledger records, as whole sentences (stored in English, shown in the
# reader's language: `read_reason` finds the message and its values again).
_DECISION_REASONS: Final = {
    ("therapist", "full refund"): Text("Cancelled by your therapist: full refund"),
    ("therapist", "no charge"): Text("Cancelled by your therapist: no charge"),
    ("early", "full refund"): Text("Cancelled more than %(hours)d h ahead: full refund"),
    ("early", "no charge"): Text("Cancelled more than %(hours)d h ahead: no charge"),
    ("late", "full refund"): Text("Late cancellation (inside %(hours)d h): full refund"),
    ("late", "no charge"): Text("Late cancellation (inside %(hours)d h): no charge"),
    ("late", "hardship"): Text("Late cancellation (inside %(hours)d h): fee waived for hardship"),
    ("late", "fee"): Text("Late cancellation (inside %(hours)d h): %(fee)s fee"),
    ("no_show", "full refund"): Text("Missed session (no-show): full refund"),
    ("no_show", "no charge"): Text("Missed session (no-show): no charge"),
    ("no_show", "hardship"): Text("Missed session (no-show): fee waived for hardship"),
    ("no_show", "fee"): Text("Missed session (no-show): %(fee)s fee"),
}
LEDGER_REASONS: Final = (
    *(text.msgid for text in _DECISION_REASONS.values()),
    Text("First late cancellation waived").msgid,
    Text("Session fee").msgid,
    Text("Cancelled by Teletherapy: full refund").msgid,
    Text("Late-cancel fee waived for hardship: refunded").msgid,
    Text("Payment arrived after the session was released: full refund").msgid,
    Text("Paid twice for one session: refunded").msgid,
    Text("Paid at the session").msgid,
    Text("Card declined").msgid,
    Text("Payment not completed").msgid,
    Text("Payment not completed: another card was saved").msgid,
    Text("Payment not completed: another card was used").msgid,
)
PAID_IN_PERSON_SUFFIX: Final = " (paid in person)"


def _reason(what: str, outcome: str, **values: object) -> Text:
    msgid = _DECISION_REASONS[(what, outcome)].msgid
    return Text(msgid, **{k: v for k, v in values.items() if f"%({k})" in msgid})


def _pattern(msgid: str) -> re.Pattern[str]:
    parts = re.split(r"%\((\w+)\)([sd])", msgid)
    regex = ""
    for index, part in enumerate(parts):
        if index % 3 == 0:
            regex += re.escape(part)
        elif index % 3 == 1:
            kind = parts[index + 1]
            regex += rf"(?P<{part}>\d+)" if kind == "d" else rf"(?P<{part}>.+?)"
    return re.compile(regex + r"\Z")


_REASON_PATTERNS: Final = tuple((msgid, _pattern(msgid)) for msgid in LEDGER_REASONS)


def read_reason(stored: str | None) -> str:
    """A stored ledger reason as a `Text` (its message and values) when it is one of ours,
    so it can be shown in the reader's language; anything else as stored."""
    if not stored:
        return stored or ""
    for msgid, pattern in _REASON_PATTERNS:
        match = pattern.match(stored)
        if match:
            values: dict[str, object] = {
                k: int(v) if f"%({k})d" in msgid else v for k, v in match.groupdict().items()
            }
            return Text(msgid, **values)
    return stored


def format_usd(cents: int) -> str:
    """$40 for whole dollars, $40.50 otherwise; amounts shown to people in reasons."""
    return format_cents(cents, "usd")


# The payment state lattice, for webhooks that arrive late, twice or out of order.
#
#   lower region: unpaid, pending, failed   -- the latest event wins among these
#   ------------------------------------------------------------------------------
#   upper region: succeeded < partially_refunded < refunded   -- only ever moves up
#
# An event that points into the lower region never leaves the upper one: a
# payment_failed arriving after succeeded is a stale attempt, not news. A refund
# event lifts any state straight to its level (a charge.refunded that overtook its
# payment_intent.succeeded still means the money came and went). `waived` is set by
# the therapist, never by an event: it ignores lower-region events, but money that
# really moved (succeeded or refunded) is recorded so it can be handled.
_EVENT_TARGETS: Final[dict[str, PaymentStatus]] = {
    "payment_intent.processing": PaymentStatus.PENDING,
    "payment_intent.requires_action": PaymentStatus.PENDING,
    "payment_intent.payment_failed": PaymentStatus.FAILED,
    "charge.failed": PaymentStatus.FAILED,
    "payment_intent.canceled": PaymentStatus.UNPAID,
    "payment_intent.succeeded": PaymentStatus.SUCCEEDED,
    "charge.succeeded": PaymentStatus.SUCCEEDED,
    "charge.refunded": PaymentStatus.REFUNDED,
}
_UPPER_RANK: Final[dict[PaymentStatus, int]] = {
    PaymentStatus.SUCCEEDED: 1,
    PaymentStatus.PARTIALLY_REFUNDED: 2,
    PaymentStatus.REFUNDED: 3,
}
PAYMENT_EVENT_TYPES: Final[frozenset[str]] = frozenset(_EVENT_TARGETS)


def apply_payment_event(
    current_status: PaymentStatus | str,
    event_type: str,
    *,
    is_partial_refund: bool = False,
) -> PaymentStatus:
    """The payment status after a Stripe event, tolerant of replays and reordering.

    Lattice (see the comment above `_EVENT_TARGETS`):

        unpaid / pending / failed      latest event wins
                  |  payment_intent.succeeded, charge.succeeded
        succeeded -> partially_refunded -> refunded     only upwards
        waived                         only succeeded / refunds move it

    Events this policy does not use leave the status unchanged. `charge.refunded`
    is sent for partial refunds too: pass `is_partial_refund` when the charge's
    `amount_refunded` is below its `amount`.
    """
    current = PaymentStatus(current_status)
    target = _EVENT_TARGETS.get(event_type)
    if target is None:
        return current
    if target is PaymentStatus.REFUNDED and is_partial_refund:
        target = PaymentStatus.PARTIALLY_REFUNDED

    if target in _UPPER_RANK:
        if _UPPER_RANK.get(current, 0) >= _UPPER_RANK[target]:
            return current
        return target
    # target is in the lower region
    if current in _UPPER_RANK or current is PaymentStatus.WAIVED:
        return current
    return target


def cpt_code(session_minutes: int, is_group: bool) -> CptCode:
    """The psychotherapy CPT code for a superbill line.

    Group psychotherapy is 90853 whatever its length. Individual sessions follow the
    time rules: 16-37 minutes 90832, 38-52 minutes 90834, 53 or more 90837; under
    16 minutes is not billable as psychotherapy.
    """
    if session_minutes <= 0:
        raise ValueError(f"session_minutes must be positive: {session_minutes}")
    if is_group:
        return "90853"
    if session_minutes < 16:
        raise ValueError(f"{session_minutes} minutes is too short for a psychotherapy code")
    if session_minutes <= 37:
        return "90832"
    if session_minutes <= 52:
        return "90834"
    return "90837"
