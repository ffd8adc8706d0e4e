"""What each status allows: booking_actions and ledger_actions, as plain tables."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from teletherapy.domain.booking import BookingStatus, booking_actions
from teletherapy.domain.payments import LedgerKind, LedgerStatus, PaymentMethod, ledger_actions

START = datetime(2026, 12, 3, 15, 0, tzinfo=UTC)
END = START + timedelta(minutes=50)
BEFORE = START - timedelta(hours=2)


@pytest.mark.parametrize(
    ("status", "now", "hold", "group", "expected"),
    [
        # cancel, reschedule, pay, join, attendance
        ("confirmed", BEFORE, None, False, (True, True, False, False, False)),
        ("confirmed", BEFORE, None, True, (True, False, False, False, False)),
        ("held", BEFORE, BEFORE + timedelta(minutes=15), False, (True, True, True, False, False)),
        ("held", BEFORE, BEFORE, False, (False, False, False, False, False)),  # lapsed
        (
            "confirmed",
            START - timedelta(minutes=10),
            None,
            False,
            (True, True, False, True, False),  # not started: still changeable
        ),
        ("confirmed", START, None, False, (False, False, False, True, True)),
        ("confirmed", END, None, False, (False, False, False, False, True)),
        ("cancelled", BEFORE, None, False, (False, False, False, False, False)),
        ("completed", END, None, False, (False, False, False, False, False)),
        ("no_show", END, None, False, (False, False, False, False, False)),
        ("expired", BEFORE, None, False, (False, False, False, False, False)),
    ],
)
def test_booking_actions(
    status: str,
    now: datetime,
    hold: datetime | None,
    group: bool,
    expected: tuple[bool, ...],
) -> None:
    actions = booking_actions(
        status=BookingStatus(status),
        start_at=START,
        end_at=END,
        hold_expires_at=hold,
        now=now,
        is_group=group,
        is_online=True,
    )
    assert (
        actions.can_cancel,
        actions.can_reschedule,
        actions.can_pay,
        actions.can_join,
        actions.can_record_attendance,
    ) == expected


def test_an_in_person_session_is_never_joined_online() -> None:
    actions = booking_actions(
        status=BookingStatus.CONFIRMED,
        start_at=START,
        end_at=END,
        hold_expires_at=None,
        now=START,
        is_online=False,
    )
    assert not actions.can_join


FEE, CHARGE = LedgerKind.LATE_FEE, LedgerKind.CHARGE
AT_SESSION, NOW = PaymentMethod.PAY_AT_SESSION, PaymentMethod.PAY_NOW


@pytest.mark.parametrize(
    ("kind", "status", "method", "amount", "booking", "expected"),
    [
        # waive, mark fee paid, pay, superbill
        (FEE, LedgerStatus.UNPAID, AT_SESSION, 2500, "cancelled", (True, True, False, False)),
        (FEE, LedgerStatus.SUCCEEDED, NOW, 2500, "cancelled", (True, False, False, False)),
        (FEE, LedgerStatus.WAIVED, NOW, 0, "cancelled", (False, False, False, False)),
        (FEE, LedgerStatus.PROCESSING, NOW, 2500, "cancelled", (False, False, False, False)),
        (CHARGE, LedgerStatus.FAILED, NOW, 6000, "confirmed", (False, False, True, False)),
        (CHARGE, LedgerStatus.SUCCEEDED, NOW, 6000, "completed", (False, False, False, True)),
        (CHARGE, LedgerStatus.SUCCEEDED, NOW, 6000, "cancelled", (False, False, False, False)),
        (CHARGE, LedgerStatus.UNPAID, AT_SESSION, 6000, "confirmed", (False, False, False, False)),
    ],
)
def test_ledger_actions(
    kind: str, status: str, method: str, amount: int, booking: str, expected: tuple[bool, ...]
) -> None:
    actions = ledger_actions(
        kind=kind, status=status, method=method, amount_cents=amount, booking_status=booking
    )
    assert (
        actions.can_waive,
        actions.can_mark_fee_paid,
        actions.can_pay,
        actions.has_superbill,
    ) == expected
