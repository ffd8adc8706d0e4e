"""Tables for refunds and late fees, the payment event lattice and CPT codes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from teletherapy.domain.payments import (
    PAYMENT_EVENT_TYPES,
    Decision,
    PaymentMethod,
    PaymentStatus,
    Waiver,
    apply_payment_event,
    cpt_code,
    format_usd,
    refund_for_cancellation,
)

S = PaymentStatus

# price, paid, by, late, fee, first, waive_first, hardship -> refund, fee, charge, reason
REFUND_TABLE = [
    pytest.param(
        8000, 8000, "therapist", False, 4000, False, True, False,
        8000, 0, 0, "Cancelled by your therapist: full refund",
        id="therapist-early-full-refund",
    ),
    pytest.param(
        8000, 8000, "therapist", True, 4000, False, True, False,
        8000, 0, 0, "Cancelled by your therapist: full refund",
        id="therapist-late-still-full-refund",
    ),
    pytest.param(
        8000, 0, "therapist", True, 4000, False, True, False,
        0, 0, 0, "Cancelled by your therapist: no charge",
        id="therapist-unpaid-no-charge",
    ),
    pytest.param(
        8000, 8000, "client", False, 4000, False, True, False,
        8000, 0, 0, "Cancelled more than 24 h ahead: full refund",
        id="client-early-full-refund",
    ),
    pytest.param(
        8000, 0, "client", False, 4000, False, True, False,
        0, 0, 0, "Cancelled more than 24 h ahead: no charge",
        id="client-early-card-on-file-no-charge",
    ),
    pytest.param(
        8000, 8000, "client", True, 4000, False, True, False,
        4000, 4000, 0, "Late cancellation (inside 24 h): $40 fee",
        id="client-late-paid-keeps-fee-refunds-rest",
    ),
    pytest.param(
        8000, 0, "client", True, 4000, False, True, False,
        0, 4000, 4000, "Late cancellation (inside 24 h): $40 fee",
        id="client-late-card-on-file-charges-fee",
    ),
    pytest.param(
        3000, 3000, "client", True, 4000, False, True, False,
        0, 3000, 0, "Late cancellation (inside 24 h): $30 fee",
        id="fee-capped-at-session-price",
    ),
    pytest.param(
        3000, 0, "client", True, 9999, False, True, False,
        0, 3000, 3000, "Late cancellation (inside 24 h): $30 fee",
        id="fee-capped-at-price-when-unpaid",
    ),
    pytest.param(
        8000, 8000, "client", True, 4050, False, True, False,
        3950, 4050, 0, "Late cancellation (inside 24 h): $40.50 fee",
        id="fee-with-cents",
    ),
    pytest.param(
        8000, 8000, "client", True, 4000, True, True, False,
        8000, 0, 0, "First late cancellation waived",
        id="first-late-cancellation-waived-by-default",
    ),
    pytest.param(
        8000, 8000, "client", True, 4000, True, False, False,
        4000, 4000, 0, "Late cancellation (inside 24 h): $40 fee",
        id="first-late-cancellation-charged-when-therapist-opts-out",
    ),
    pytest.param(
        8000, 8000, "client", True, 4000, False, True, True,
        8000, 0, 0, "Late cancellation (inside 24 h): fee waived for hardship",
        id="hardship-waiver-no-fee",
    ),
    pytest.param(
        8000, 0, "client", True, 0, False, True, False,
        0, 0, 0, "Late cancellation (inside 24 h): no charge",
        id="therapist-without-late-fee",
    ),
    pytest.param(
        0, 0, "client", True, 4000, False, True, False,
        0, 0, 0, "Late cancellation (inside 24 h): no charge",
        id="free-session-never-has-a-fee",
    ),
]  # fmt: skip


@pytest.mark.parametrize(
    ("price", "paid", "by", "late", "fee", "first", "waive_first", "hardship",
     "refund", "fee_cents", "charge", "reason"),
    REFUND_TABLE,
)  # fmt: skip
def test_refund_for_cancellation_table(
    price: int,
    paid: int,
    by: str,
    late: bool,
    fee: int,
    first: bool,
    waive_first: bool,
    hardship: bool,
    refund: int,
    fee_cents: int,
    charge: int,
    reason: str,
) -> None:
    decision = refund_for_cancellation(
        price,
        paid,
        by,  # type: ignore[arg-type]
        late,
        fee,
        first,
        waive_first=waive_first,
        hardship_waiver=hardship,
    )
    assert (decision.refund_cents, decision.fee_cents, decision.charge_cents) == (
        refund,
        fee_cents,
        charge,
    )
    assert decision.reason == reason


def test_no_show_charges_the_late_fee_with_its_own_reason() -> None:
    decision = refund_for_cancellation(
        8000, 0, "client", False, 4000, False, is_no_show=True
    )  # fmt: skip
    assert decision == Decision(0, 4000, "Missed session (no-show): $40 fee", charge_cents=4000)


def test_window_length_appears_in_the_reason() -> None:
    decision = refund_for_cancellation(8000, 8000, "client", True, 4000, False, window_hours=48)
    assert decision.reason == "Late cancellation (inside 48 h): $40 fee"


def test_waivers_are_recorded_and_hardship_spares_the_first_waiver() -> None:
    first = refund_for_cancellation(8000, 8000, "client", True, 4000, True)
    both = refund_for_cancellation(8000, 8000, "client", True, 4000, True, hardship_waiver=True)
    assert first.waiver is Waiver.FIRST_LATE_CANCELLATION
    assert both.waiver is Waiver.HARDSHIP
    assert refund_for_cancellation(8000, 8000, "client", True, 4000, False).waiver is None


@pytest.mark.parametrize(
    ("price", "paid", "by", "fee"),
    [
        (-1, 0, "client", 0),
        (8000, -1, "client", 0),
        (8000, 0, "client", -1),
        (8000, 9000, "client", 0),
        (8000, 0, "admin", 0),
    ],
)
def test_refund_for_cancellation_rejects_impossible_input(
    price: int, paid: int, by: str, fee: int
) -> None:
    with pytest.raises(ValueError):
        refund_for_cancellation(price, paid, by, True, fee, False)  # type: ignore[arg-type]


@given(
    price=st.integers(0, 100_000),
    paid_share=st.floats(0, 1),
    by=st.sampled_from(["client", "therapist"]),
    late=st.booleans(),
    no_show=st.booleans(),
    fee=st.integers(0, 200_000),
    first=st.booleans(),
    waive_first=st.booleans(),
    hardship=st.booleans(),
)
def test_money_always_adds_up_and_fee_never_exceeds_price(
    price: int,
    paid_share: float,
    by: str,
    late: bool,
    no_show: bool,
    fee: int,
    first: bool,
    waive_first: bool,
    hardship: bool,
) -> None:
    paid = int(price * paid_share)
    decision = refund_for_cancellation(
        price,
        paid,
        by,  # type: ignore[arg-type]
        late,
        fee,
        first,
        waive_first,
        hardship,
        is_no_show=no_show,
    )
    assert 0 <= decision.fee_cents <= min(price, fee)
    assert 0 <= decision.refund_cents <= paid
    assert decision.charge_cents >= 0
    assert paid - decision.refund_cents + decision.charge_cents == decision.fee_cents
    if by == "therapist":
        assert decision.refund_cents == paid and decision.fee_cents == 0
    assert decision.reason


@pytest.mark.parametrize(
    ("cents", "text"),
    [(0, "$0"), (4000, "$40"), (4050, "$40.50"), (5, "$0.05"), (123456, "$1,234.56")],
)
def test_format_usd(cents: int, text: str) -> None:
    assert format_usd(cents) == text


# current, event, partial -> new status
LATTICE_TABLE = [
    (S.UNPAID, "payment_intent.processing", False, S.PENDING),
    (S.UNPAID, "payment_intent.requires_action", False, S.PENDING),
    (S.PENDING, "payment_intent.succeeded", False, S.SUCCEEDED),
    (S.PENDING, "payment_intent.payment_failed", False, S.FAILED),
    (S.FAILED, "payment_intent.processing", False, S.PENDING),  # retried with another card
    (S.FAILED, "payment_intent.succeeded", False, S.SUCCEEDED),
    (S.PENDING, "payment_intent.canceled", False, S.UNPAID),  # hold expired
    (S.SUCCEEDED, "payment_intent.payment_failed", False, S.SUCCEEDED),  # stale failure
    (S.SUCCEEDED, "charge.failed", False, S.SUCCEEDED),
    (S.SUCCEEDED, "payment_intent.processing", False, S.SUCCEEDED),
    (S.SUCCEEDED, "payment_intent.canceled", False, S.SUCCEEDED),
    (S.SUCCEEDED, "payment_intent.succeeded", False, S.SUCCEEDED),  # replay
    (S.SUCCEEDED, "charge.refunded", False, S.REFUNDED),
    (S.SUCCEEDED, "charge.refunded", True, S.PARTIALLY_REFUNDED),
    (S.PARTIALLY_REFUNDED, "charge.refunded", True, S.PARTIALLY_REFUNDED),
    (S.PARTIALLY_REFUNDED, "charge.refunded", False, S.REFUNDED),
    (S.PARTIALLY_REFUNDED, "payment_intent.succeeded", False, S.PARTIALLY_REFUNDED),
    (S.REFUNDED, "payment_intent.succeeded", False, S.REFUNDED),  # overtaken by its refund
    (S.REFUNDED, "charge.refunded", True, S.REFUNDED),
    (S.REFUNDED, "payment_intent.payment_failed", False, S.REFUNDED),
    (S.PENDING, "charge.refunded", False, S.REFUNDED),  # refund overtook succeeded
    (S.UNPAID, "charge.succeeded", False, S.SUCCEEDED),
    (S.WAIVED, "payment_intent.payment_failed", False, S.WAIVED),
    (S.WAIVED, "payment_intent.processing", False, S.WAIVED),
    (S.WAIVED, "payment_intent.succeeded", False, S.SUCCEEDED),  # money moved anyway
    (S.SUCCEEDED, "customer.created", False, S.SUCCEEDED),  # unused events change nothing
    (S.UNPAID, "invoice.paid", False, S.UNPAID),
]


@pytest.mark.parametrize(("current", "event", "partial", "expected"), LATTICE_TABLE)
def test_apply_payment_event_table(
    current: PaymentStatus, event: str, partial: bool, expected: PaymentStatus
) -> None:
    assert apply_payment_event(current, event, is_partial_refund=partial) is expected


def test_apply_payment_event_accepts_stored_strings() -> None:
    assert apply_payment_event("succeeded", "charge.refunded") is S.REFUNDED
    with pytest.raises(ValueError):
        apply_payment_event("paid", "charge.refunded")


EVENTS = sorted(PAYMENT_EVENT_TYPES)


@given(
    start=st.sampled_from([S.UNPAID, S.PENDING, S.FAILED]),
    events=st.lists(st.tuples(st.sampled_from(EVENTS), st.booleans()), max_size=8),
)
def test_success_is_never_lost_whatever_the_order(
    start: PaymentStatus, events: list[tuple[str, bool]]
) -> None:
    """Once a success or refund is seen, later events never bring back a lower state."""
    upper = {S.SUCCEEDED, S.PARTIALLY_REFUNDED, S.REFUNDED}
    status = start
    for event, partial in events:
        new = apply_payment_event(status, event, is_partial_refund=partial)
        if status in upper:
            assert new in upper
        if status is S.REFUNDED:
            assert new is S.REFUNDED
        status = new


@given(events=st.lists(st.sampled_from(EVENTS), max_size=6))
def test_replaying_every_event_twice_changes_nothing(events: list[str]) -> None:
    once = twice = S.UNPAID
    for event in events:
        once = apply_payment_event(once, event)
        twice = apply_payment_event(apply_payment_event(twice, event), event)
    assert once is twice


@pytest.mark.parametrize(
    ("minutes", "is_group", "code"),
    [
        (16, False, "90832"),
        (30, False, "90832"),
        (37, False, "90832"),
        (38, False, "90834"),
        (45, False, "90834"),
        (50, False, "90834"),
        (52, False, "90834"),
        (53, False, "90837"),
        (60, False, "90837"),
        (90, False, "90837"),
        (90, True, "90853"),
        (45, True, "90853"),
        (10, True, "90853"),
    ],
)
def test_cpt_code_table(minutes: int, is_group: bool, code: str) -> None:
    assert cpt_code(minutes, is_group) == code


@pytest.mark.parametrize(("minutes", "is_group"), [(15, False), (0, False), (0, True), (-5, True)])
def test_cpt_code_refuses_sessions_too_short_to_bill(minutes: int, is_group: bool) -> None:
    with pytest.raises(ValueError):
        cpt_code(minutes, is_group)


def test_payment_vocabularies_are_stable_strings() -> None:
    assert [m.value for m in PaymentMethod] == ["pay_now", "card_on_file", "pay_at_session"]
    assert [s.value for s in PaymentStatus] == [
        "unpaid",
        "pending",
        "succeeded",
        "failed",
        "refunded",
        "partially_refunded",
        "waived",
    ]


def test_every_decision_reason_is_read_back_with_its_message_and_values() -> None:
    from itertools import product

    from teletherapy.domain.errors import Text
    from teletherapy.domain.payments import LEDGER_REASONS, read_reason, refund_for_cancellation

    seen = set()
    for paid, by, late, fee, first, hardship, no_show in product(
        (0, 9000), ("client", "therapist"), (False, True), (0, 4000), (False, True),
        (False, True), (False, True),
    ):  # fmt: skip
        decision = refund_for_cancellation(
            9000, paid, by, late, fee, first, True, hardship, is_no_show=no_show, window_hours=36
        )
        text = read_reason(str(decision.reason))
        assert isinstance(text, Text) and text == decision.reason
        assert text.msgid in LEDGER_REASONS
        seen.add(text.msgid)
    assert len(seen) == 13  # every decision sentence is reachable
    assert read_reason("Late cancellation (inside 36 h): $40.00 fee").params == {
        "hours": 36,
        "fee": "$40.00",
    }
    assert read_reason("Something an older release wrote") == "Something an older release wrote"
