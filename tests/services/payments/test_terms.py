"""What booking and cancelling cost: the confirm page's terms, the cancel preview, the outcome."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from teletherapy.domain.payments import PaymentMethod
from teletherapy.services import bookings as svc
from teletherapy.services import payments
from teletherapy.services.payments import terms
from tests.booking_setup import set_availability

THU_10 = datetime(2026, 12, 3, 15, 0, tzinfo=UTC)  # Thu 10:00 New York


@pytest.fixture
def therapist(make_user: Any) -> Any:
    return make_user("therapist", display_name="Dr Ana")


@pytest.fixture
def tid(therapist: Any) -> int:
    return set_availability(therapist, cancellation_window_hours=48)


@pytest.fixture
def client_user(make_user: Any) -> Any:
    return make_user("client", display_name="Lin Chen")


def _fee(therapist: Any, cents: int, *, waive_first: bool = True) -> None:
    payments.update_settings(
        therapist=therapist,
        accepts_pay_now=False,
        accepts_card_on_file=False,
        accepts_pay_at_session=True,
        late_cancel_fee_cents=cents,
        waive_first_late_cancel=waive_first,
    )


def test_terms_name_the_band_price_method_deadline_and_fee(
    therapist: Any, tid: int, client_user: Any, now: datetime
) -> None:
    _fee(therapist, 2500)
    got = terms.booking_terms(
        client_id=client_user.id, therapist_id=tid, start=THU_10, now=now, stripe_enabled=False
    )
    assert got.price_cents == 15000  # no band chosen: the standard (top) band
    assert got.methods == (PaymentMethod.PAY_AT_SESSION,)
    assert got.cancel_free_until == THU_10 - timedelta(hours=48)
    assert not got.is_inside_window  # 49 hours away
    assert got.late_fee_cents == 2500 and got.first_late_fee_waived
    assert got.sessions == 1 and got.total_cents == 15000


def test_a_session_29_hours_away_is_already_inside_a_48_hour_window(
    tid: int, client_user: Any, now: datetime
) -> None:
    got = terms.booking_terms(
        client_id=client_user.id,
        therapist_id=tid,
        start=now + timedelta(hours=29),
        now=now,
        stripe_enabled=False,
    )
    assert got.is_inside_window


def test_series_terms_total_every_week_and_keep_local_time(
    tid: int, client_user: Any, now: datetime
) -> None:
    got = terms.booking_terms(
        client_id=client_user.id,
        therapist_id=tid,
        start=THU_10,
        now=now,
        repeat_weekly=4,
        stripe_enabled=False,
    )
    assert got.sessions == 4 and got.total_cents == 4 * got.price_cents
    assert got.series_starts[-1] == THU_10 + timedelta(weeks=3)


def test_late_cancel_preview_states_the_fee_the_ledger_then_records(
    therapist: Any, tid: int, client_user: Any, now: datetime
) -> None:
    _fee(therapist, 4000, waive_first=False)
    booking = svc.book_session(
        client_id=client_user.id, therapist_id=tid, start=THU_10, setting="online", now=now
    ).first
    later = THU_10 - timedelta(hours=10)
    cost = terms.cancellation_cost(booking_id=booking.id, user_id=client_user.id, now=later)
    assert cost.is_late and cost.fee_cents == 4000 and not cost.is_waived
    svc.cancel_booking(booking_id=booking.id, actor_id=client_user.id, now=later)
    outcome = terms.money_outcome(booking_id=booking.id, user_id=client_user.id)
    assert outcome.fee_cents == cost.fee_cents and outcome.fee_owed_cents == 4000
    assert outcome.net_cents == 4000


def test_first_late_cancellation_preview_says_waived(
    therapist: Any, tid: int, client_user: Any, now: datetime
) -> None:
    _fee(therapist, 4000)
    booking = svc.book_session(
        client_id=client_user.id, therapist_id=tid, start=THU_10, setting="online", now=now
    ).first
    later = THU_10 - timedelta(hours=10)
    cost = terms.cancellation_cost(booking_id=booking.id, user_id=client_user.id, now=later)
    assert cost.is_late and cost.is_waived and cost.fee_cents == 0
    svc.cancel_booking(booking_id=booking.id, actor_id=client_user.id, now=later)
    assert terms.money_outcome(booking_id=booking.id, user_id=client_user.id).fee_waived


def test_on_time_and_therapist_cancellations_cost_the_client_nothing(
    therapist: Any, tid: int, client_user: Any, now: datetime
) -> None:
    _fee(therapist, 4000)
    booking = svc.book_session(
        client_id=client_user.id, therapist_id=tid, start=THU_10, setting="online", now=now
    ).first
    early = terms.cancellation_cost(booking_id=booking.id, user_id=client_user.id, now=now)
    assert not early.is_late and early.fee_cents == 0
    late = THU_10 - timedelta(hours=1)
    by_therapist = terms.cancellation_cost(booking_id=booking.id, user_id=therapist.id, now=late)
    assert by_therapist.by == "therapist" and not by_therapist.is_late
    assert by_therapist.fee_cents == 0
