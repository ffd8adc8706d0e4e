"""Payment use cases against a fake gateway: paying, holds, refunds, fees, sweeps, superbills.

The fake gateway (tests/payment_fakes.py) covers what localstripe 1.15 lacks; the same
flows run against a real localstripe in test_payments_localstripe.py. localstripe gaps:

- Idempotency keys are ignored (a repeated key creates a second object): the fake
  replays the first answer to a repeated key, as Stripe does, so "a retry moves money
  once" is tested here.
- No refund webhooks (no charge.refunded) and no charge.succeeded, setup_intent.*,
  payment_intent.requires_action or .canceled events, and none when 3-D Secure
  fails: refunds are recorded from the API answer; reordered and replayed refund
  events are tested with signed events in tests/web/payments/test_webhooks.py.
- Off-session charges on a card needing authentication come back requires_action
  (Stripe raises authentication_required): the gateway maps both; the fake returns
  requires_action directly.
- No way to make Stripe unreachable or to time out: the fake fails on demand, for
  the "sweep dies half-way and is retried with the same key" cases.
- 4000000000000002 declines only when saved; charge-time declines use
  4000000000000341.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from teletherapy.domain.errors import ConflictError, NotFoundError, ValidationError
from teletherapy.domain.payments import PaymentMethod
from teletherapy.extensions import db
from teletherapy.gateways import build_gateways
from teletherapy.gateways.payments import PaymentGatewayError
from teletherapy.models import (
    Booking,
    ClientPaymentProfile,
    OutboxMessage,
    Payment,
    TherapistProfile,
)
from teletherapy.services import payments
from tests.payment_fakes import (
    FakeGateway,
    accept,
    add_booking,
    cancel,
    intent_object,
    sign,
    stripe_event,
)

CARD = "pm_card_ok"
DECLINED = "pm_card_declined"
THREE_DS = "pm_card_3ds"


@pytest.fixture
def gateway() -> FakeGateway:
    return FakeGateway(card_behaviour={CARD: "ok", DECLINED: "decline", THREE_DS: "authenticate"})


@pytest.fixture
def people(make_user: Any) -> tuple[Any, Any]:
    therapist = make_user("therapist", display_name="Ana Reyes")
    client = make_user("client", display_name="Sam Client")
    return therapist, client


def lines(booking_id: int, kind: str | None = None) -> list[Payment]:
    db.session.rollback()
    query = select(Payment).where(Payment.booking_id == booking_id).order_by(Payment.id)
    if kind:
        query = query.where(Payment.kind == kind)
    return list(db.session.scalars(query))


def status_of(booking_id: int) -> str:
    db.session.rollback()
    booking = db.session.get(Booking, booking_id)
    assert booking is not None
    return booking.status


def pay_now(people: tuple[Any, Any], gateway: FakeGateway, now: datetime, **kw: Any) -> Booking:
    therapist, client = people
    accept(therapist, "pay_now", "pay_at_session", **kw)
    booking = add_booking(therapist, client, start=now + timedelta(days=3), now=now)
    payments.start_card_setup(
        client=client, booking_id=booking.id, method="pay_now", gateway=gateway, now=now
    )
    outcome = payments.submit_card(
        client=client,
        booking_id=booking.id,
        method="pay_now",
        payment_method_id=CARD,
        gateway=gateway,
        now=now,
    )
    assert outcome.status == "succeeded"
    return booking


# --- configuration and ways to pay ------------------------------------------------------


def test_without_stripe_keys_only_pay_at_session_is_offered(people: Any) -> None:
    therapist, _ = people
    accept(therapist, "pay_now", "card_on_file")
    assert build_gateways({}, instance_path="/nonexistent").payments is None
    assert payments.offered_methods(therapist_id=therapist.therapist_id, stripe_enabled=False) == [
        PaymentMethod.PAY_AT_SESSION
    ]
    assert payments.offered_methods(therapist_id=therapist.therapist_id, stripe_enabled=True) == [
        PaymentMethod.PAY_NOW,
        PaymentMethod.CARD_ON_FILE,
    ]


def test_stripe_js_comes_from_stripe_or_from_the_emulator_given_as_api_base() -> None:
    keys = {"STRIPE_SECRET_KEY": "sk_test_x", "STRIPE_PUBLISHABLE_KEY": "pk_test_x"}
    real = payments.stripe_config(keys)
    local = payments.stripe_config({**keys, "STRIPE_API_BASE": "http://127.0.0.1:8420/"})
    assert real is not None and real.js_url == "https://js.stripe.com/v3/"
    assert local is not None and local.js_url == "http://127.0.0.1:8420/js.stripe.com/v3/"
    assert payments.stripe_config({"STRIPE_SECRET_KEY": "sk_test_x"}) is None


def test_a_therapist_with_no_settings_takes_payment_at_the_session(people: Any) -> None:
    therapist, _ = people
    settings = payments.get_settings(therapist_id=therapist.therapist_id)
    assert settings.accepts_pay_at_session and settings.waive_first_late_cancel
    assert settings.late_cancel_fee_cents == 0


def test_settings_accepting_no_way_to_pay_are_refused_and_nothing_changes(people: Any) -> None:
    therapist, _ = people
    accept(therapist, "pay_at_session", late_fee_cents=2500)
    with pytest.raises(ValidationError) as caught:
        payments.update_settings(
            therapist=therapist,
            accepts_pay_now=False,
            accepts_card_on_file=False,
            accepts_pay_at_session=False,
            late_cancel_fee_cents=-5,
            waive_first_late_cancel=True,
        )
    assert set(caught.value.errors) == {"accepts_pay_at_session", "late_cancel_fee"}
    db.session.rollback()
    assert payments.get_settings(therapist_id=therapist.therapist_id).late_cancel_fee_cents == 2500


def test_pay_at_session_confirms_the_held_booking_and_tells_both_parties(
    people: Any, now: datetime
) -> None:
    therapist, client = people
    booking = add_booking(therapist, client, start=now + timedelta(days=2), now=now)
    payments.choose_pay_at_session(
        client=client, booking_id=booking.id, stripe_enabled=False, now=now
    )
    assert status_of(booking.id) == "confirmed"
    [charge] = lines(booking.id)
    assert (charge.kind, charge.method, charge.status) == ("charge", "pay_at_session", "unpaid")
    mail = db.session.scalars(select(OutboxMessage.kind)).all()
    assert mail.count("booking_confirmed") == 2


def test_pay_at_session_is_refused_when_the_therapist_wants_a_card(
    people: Any, now: datetime
) -> None:
    therapist, client = people
    accept(therapist, "pay_now")
    booking = add_booking(therapist, client, start=now + timedelta(days=2), now=now)
    with pytest.raises(ValidationError):
        payments.choose_pay_at_session(
            client=client, booking_id=booking.id, stripe_enabled=True, now=now
        )
    assert status_of(booking.id) == "held" and lines(booking.id) == []


def test_someone_elses_booking_is_not_found(people: Any, make_user: Any, now: datetime) -> None:
    therapist, client = people
    booking = add_booking(therapist, client, start=now + timedelta(days=2), now=now)
    with pytest.raises(NotFoundError):
        payments.choose_pay_at_session(
            client=make_user("client"), booking_id=booking.id, stripe_enabled=False, now=now
        )


# --- paying now -------------------------------------------------------------------------


def test_paying_now_confirms_the_booking_with_the_key_pay_booking(
    people: Any, gateway: FakeGateway, now: datetime
) -> None:
    booking = pay_now(people, gateway, now)
    assert status_of(booking.id) == "confirmed"
    [charge] = lines(booking.id)
    assert charge.status == "succeeded" and charge.idempotency_key == f"pay-{booking.id}"
    assert gateway.keys("create_payment_intent") == [f"pay-{booking.id}"]
    profile = db.session.get(ClientPaymentProfile, people[1].id)
    assert profile is not None and profile.default_payment_method_id == CARD
    assert profile.stripe_customer_id and profile.stripe_customer_id.startswith("cus_")


def test_a_declined_card_leaves_the_booking_held_and_a_retry_uses_a_new_key(
    people: Any, gateway: FakeGateway, now: datetime
) -> None:
    therapist, client = people
    accept(therapist, "pay_now")
    booking = add_booking(therapist, client, start=now + timedelta(days=3), now=now)
    outcome = payments.submit_card(
        client=client,
        booking_id=booking.id,
        method="pay_now",
        payment_method_id=DECLINED,
        gateway=gateway,
        now=now,
    )
    assert (outcome.status, outcome.message) == ("declined", "Your card was declined.")
    assert status_of(booking.id) == "held"
    assert [line.status for line in lines(booking.id)] == ["failed"]

    again = payments.submit_card(
        client=client,
        booking_id=booking.id,
        method="pay_now",
        payment_method_id=CARD,
        gateway=gateway,
        now=now,
    )
    assert again.status == "succeeded" and status_of(booking.id) == "confirmed"
    assert gateway.keys("create_payment_intent") == [f"pay-{booking.id}", f"pay-{booking.id}_2"]
    assert [line.status for line in lines(booking.id)] == ["failed", "succeeded"]


def test_three_d_secure_is_confirmed_only_when_stripe_says_so(
    people: Any, gateway: FakeGateway, now: datetime
) -> None:
    therapist, client = people
    accept(therapist, "pay_now")
    booking = add_booking(therapist, client, start=now + timedelta(days=3), now=now)
    outcome = payments.submit_card(
        client=client,
        booking_id=booking.id,
        method="pay_now",
        payment_method_id=THREE_DS,
        gateway=gateway,
        now=now,
    )
    assert outcome.status == "requires_action" and outcome.client_secret
    # The page claims success, but the bank has not answered: nothing is confirmed.
    still = payments.verify_payment(client=client, booking_id=booking.id, gateway=gateway, now=now)
    assert still.status == "requires_action" and status_of(booking.id) == "held"

    [charge] = lines(booking.id)
    assert charge.stripe_payment_intent_id is not None
    gateway.complete_authentication(charge.stripe_payment_intent_id)
    done = payments.verify_payment(client=client, booking_id=booking.id, gateway=gateway, now=now)
    assert done.status == "succeeded" and status_of(booking.id) == "confirmed"


def test_failed_authentication_is_a_decline_and_the_booking_stays_held(
    people: Any, gateway: FakeGateway, now: datetime
) -> None:
    therapist, client = people
    accept(therapist, "pay_now")
    booking = add_booking(therapist, client, start=now + timedelta(days=3), now=now)
    payments.submit_card(
        client=client,
        booking_id=booking.id,
        method="pay_now",
        payment_method_id=THREE_DS,
        gateway=gateway,
        now=now,
    )
    [charge] = lines(booking.id)
    assert charge.stripe_payment_intent_id is not None
    gateway.complete_authentication(charge.stripe_payment_intent_id, success=False)
    outcome = payments.verify_payment(
        client=client, booking_id=booking.id, gateway=gateway, now=now
    )
    assert outcome.status == "declined" and status_of(booking.id) == "held"
    assert lines(booking.id)[0].status == "failed"


def test_a_method_the_therapist_does_not_accept_is_refused(
    people: Any, gateway: FakeGateway, now: datetime
) -> None:
    therapist, client = people
    accept(therapist, "card_on_file")
    booking = add_booking(therapist, client, start=now + timedelta(days=3), now=now)
    with pytest.raises(ValidationError):
        payments.submit_card(
            client=client,
            booking_id=booking.id,
            method="pay_now",
            payment_method_id=CARD,
            gateway=gateway,
            now=now,
        )
    with pytest.raises(ValidationError):
        payments.submit_card(
            client=client,
            booking_id=booking.id,
            method="card_on_file",
            payment_method_id="not-a-card",
            gateway=gateway,
            now=now,
        )
    assert lines(booking.id) == [] and gateway.calls == []


def test_an_expired_hold_cannot_be_paid(people: Any, gateway: FakeGateway, now: datetime) -> None:
    therapist, client = people
    accept(therapist, "pay_now")
    booking = add_booking(therapist, client, start=now + timedelta(days=3), now=now)
    later = now + timedelta(minutes=16)
    with pytest.raises(ConflictError) as caught:
        payments.submit_card(
            client=client,
            booking_id=booking.id,
            method="pay_now",
            payment_method_id=CARD,
            gateway=gateway,
            now=later,
        )
    assert caught.value.extra == {"reason": "hold_expired"}
    assert gateway.calls == []


def test_the_sweep_releases_holds_that_ran_out_and_keeps_the_others(
    people: Any, now: datetime
) -> None:
    therapist, client = people
    stale = add_booking(therapist, client, start=now + timedelta(days=3), now=now)
    fresh = add_booking(
        therapist, client, start=now + timedelta(days=4), now=now + timedelta(minutes=10)
    )
    confirmed = add_booking(
        therapist, client, start=now + timedelta(days=5), status="confirmed", now=now
    )
    assert payments.expire_stale_holds(now=now + timedelta(minutes=20)) == 1
    assert [status_of(b.id) for b in (stale, fresh, confirmed)] == ["expired", "held", "confirmed"]


def test_money_that_arrives_after_the_hold_expired_is_refunded(
    people: Any, gateway: FakeGateway, now: datetime
) -> None:
    therapist, client = people
    accept(therapist, "pay_now")
    booking = add_booking(therapist, client, start=now + timedelta(days=3), now=now)
    payments.submit_card(
        client=client,
        booking_id=booking.id,
        method="pay_now",
        payment_method_id=THREE_DS,
        gateway=gateway,
        now=now,
    )
    payments.expire_stale_holds(now=now + timedelta(minutes=30))
    [charge] = lines(booking.id)
    assert charge.stripe_payment_intent_id is not None
    gateway.complete_authentication(charge.stripe_payment_intent_id)
    payments.verify_payment(
        client=client, booking_id=booking.id, gateway=gateway, now=now + timedelta(minutes=31)
    )
    assert status_of(booking.id) == "expired"
    [refund] = lines(booking.id, "refund")
    assert refund.amount_cents == 6000 and refund.reason_code == "payment_after_release"
    payments.execute_pending(gateway=gateway, now=now + timedelta(minutes=32))
    assert [r.amount_cents for r in gateway.refunds] == [6000]


# --- cancellations: refunds and fees ----------------------------------------------------


def test_client_cancelling_early_gets_a_full_refund_by_the_sweep_once(
    people: Any, gateway: FakeGateway, now: datetime
) -> None:
    booking = pay_now(people, gateway, now)
    cancel(booking, by="client", late=False, now=now)
    [refund] = lines(booking.id, "refund")
    assert (refund.status, refund.amount_cents) == ("pending", 6000)
    assert refund.idempotency_key == f"refund-{booking.id}"
    assert refund.reason == "Cancelled more than 24 h ahead: full refund"
    assert gateway.keys("refund") == []  # nothing moves inside the booking's transaction

    counts = payments.execute_pending(gateway=gateway, now=now)
    assert counts.done == 1
    again = payments.execute_pending(gateway=gateway, now=now)
    assert again.done == 0
    assert gateway.keys("refund") == [f"refund-{booking.id}"]
    [refund] = lines(booking.id, "refund")
    assert refund.status == "succeeded" and refund.stripe_refund_id
    assert lines(booking.id, "charge")[0].status == "refunded"
    refund_call = next(kw for name, kw in gateway.calls if name == "refund")
    assert refund_call["reason"] == "client_cancelled"


def test_therapist_cancelling_late_still_refunds_everything(
    people: Any, gateway: FakeGateway, now: datetime
) -> None:
    booking = pay_now(people, gateway, now, late_fee_cents=4000, waive_first=False)
    cancel(booking, by="therapist", late=True, now=now)
    [refund] = lines(booking.id, "refund")
    assert (
        refund.amount_cents == 6000 and refund.reason == "Cancelled by your therapist: full refund"
    )
    assert lines(booking.id, "late_fee") == []


def test_first_late_cancellation_is_waived_then_the_next_keeps_the_fee(
    people: Any, gateway: FakeGateway, now: datetime
) -> None:
    first = pay_now(people, gateway, now, late_fee_cents=2500)
    cancel(first, by="client", late=True, now=now)
    [refund] = lines(first.id, "refund")
    [fee] = lines(first.id, "late_fee")
    assert refund.amount_cents == 6000
    assert (fee.status, fee.amount_cents, fee.reason) == (
        "waived",
        0,
        "First late cancellation waived",
    )
    profile = db.session.get(ClientPaymentProfile, people[1].id)
    assert profile is not None and profile.late_cancellations_waived == 1

    second = pay_now(people, gateway, now, late_fee_cents=2500)
    cancel(second, by="client", late=True, now=now)
    [refund] = lines(second.id, "refund")
    [fee] = lines(second.id, "late_fee")
    assert refund.amount_cents == 3500
    assert (fee.status, fee.amount_cents) == ("succeeded", 2500)
    assert fee.reason == "Late cancellation (inside 24 h): $25 fee"
    payments.execute_pending(gateway=gateway, now=now)
    assert lines(second.id, "charge")[0].status == "partially_refunded"


def test_a_late_fee_is_never_more_than_the_session_price(
    people: Any, gateway: FakeGateway, now: datetime
) -> None:
    booking = pay_now(people, gateway, now, late_fee_cents=9000, waive_first=False)
    cancel(booking, by="client", late=True, now=now)
    assert lines(booking.id, "refund") == []
    [fee] = lines(booking.id, "late_fee")
    assert fee.amount_cents == 6000


def test_hardship_waiver_refunds_a_kept_fee_in_one_click(
    people: Any, gateway: FakeGateway, now: datetime
) -> None:
    therapist, _ = people
    booking = pay_now(people, gateway, now, late_fee_cents=2500, waive_first=False)
    cancel(booking, by="client", late=True, now=now)
    payments.execute_pending(gateway=gateway, now=now)
    payments.waive_late_fee(therapist=therapist, booking_id=booking.id, now=now)
    [fee] = lines(booking.id, "late_fee")
    assert fee.status == "waived" and fee.reason.endswith("fee waived for hardship")
    payments.execute_pending(gateway=gateway, now=now)
    assert gateway.keys("refund") == [f"refund-{booking.id}", f"refund-{booking.id}_waiver"]
    assert sum(r.amount_cents for r in gateway.refunds) == 6000
    assert lines(booking.id, "charge")[0].status == "refunded"
    with pytest.raises(ConflictError):
        payments.waive_late_fee(therapist=therapist, booking_id=booking.id, now=now)


def test_only_the_sessions_therapist_can_waive_its_fee(
    people: Any, make_user: Any, gateway: FakeGateway, now: datetime
) -> None:
    booking = pay_now(people, gateway, now, late_fee_cents=2500, waive_first=False)
    cancel(booking, by="client", late=True, now=now)
    with pytest.raises(NotFoundError):
        payments.waive_late_fee(therapist=make_user("therapist"), booking_id=booking.id, now=now)
    assert lines(booking.id, "late_fee")[0].status == "succeeded"


def save_card_on_file(
    people: Any, gateway: FakeGateway, now: datetime, card: str = CARD, **kw: Any
) -> Booking:
    therapist, client = people
    accept(therapist, "card_on_file", **kw)
    booking = add_booking(therapist, client, start=now + timedelta(days=1), now=now)
    payments.start_card_setup(
        client=client, booking_id=booking.id, method="card_on_file", gateway=gateway, now=now
    )
    outcome = payments.submit_card(
        client=client,
        booking_id=booking.id,
        method="card_on_file",
        payment_method_id=card,
        gateway=gateway,
        now=now,
    )
    assert outcome.status == "saved"
    return booking


def test_late_cancellation_with_a_card_on_file_charges_the_fee_with_its_key(
    people: Any, gateway: FakeGateway, now: datetime
) -> None:
    booking = save_card_on_file(people, gateway, now, late_fee_cents=3000, waive_first=False)
    cancel(booking, by="client", late=True, now=now)
    assert lines(booking.id, "charge")[0].status == "void"
    [fee] = lines(booking.id, "late_fee")
    assert (fee.status, fee.idempotency_key) == ("pending", f"late-fee-{booking.id}")
    payments.execute_pending(gateway=gateway, now=now)
    assert gateway.keys("charge_off_session") == [f"late-fee-{booking.id}"]
    [fee] = lines(booking.id, "late_fee")
    assert fee.status == "succeeded" and fee.stripe_payment_intent_id


def test_a_no_show_costs_the_late_fee(people: Any, gateway: FakeGateway, now: datetime) -> None:
    booking = save_card_on_file(people, gateway, now, late_fee_cents=3000, waive_first=False)
    cancel(booking, by="client", late=False, now=now, no_show=True)
    [fee] = lines(booking.id, "late_fee")
    assert fee.reason == "Missed session (no-show): $30 fee"
    assert fee.reason_code == "no_show"


def test_a_fee_owed_at_the_session_is_marked_paid_by_the_therapist(
    people: Any, now: datetime
) -> None:
    therapist, client = people
    accept(therapist, "pay_at_session", late_fee_cents=2000, waive_first=False)
    booking = add_booking(therapist, client, start=now + timedelta(days=1), now=now)
    payments.choose_pay_at_session(
        client=client, booking_id=booking.id, stripe_enabled=False, now=now
    )
    cancel(booking, by="client", late=True, now=now)
    [fee] = lines(booking.id, "late_fee")
    assert (fee.status, fee.method, fee.amount_cents) == ("unpaid", "pay_at_session", 2000)
    payments.mark_paid_at_session(therapist=therapist, booking_id=booking.id, now=now)
    assert lines(booking.id, "late_fee")[0].status == "succeeded"


def test_repeating_the_cancellation_hook_records_nothing_twice(
    people: Any, gateway: FakeGateway, now: datetime
) -> None:
    booking = pay_now(people, gateway, now)
    cancel(booking, by="client", late=False, now=now)
    cancel(booking, by="client", late=False, now=now)
    assert len(lines(booking.id, "refund")) == 1


def test_a_sweep_that_died_mid_refund_is_retried_with_the_same_key(
    people: Any, gateway: FakeGateway, now: datetime
) -> None:
    booking = pay_now(people, gateway, now)
    cancel(booking, by="client", late=False, now=now)
    gateway.fail_next = 1
    counts = payments.execute_pending(gateway=gateway, now=now)
    assert counts.failed == 1 and lines(booking.id, "refund")[0].status == "pending"
    # A sweep that crashed after Stripe answered leaves the line "processing".
    refund = lines(booking.id, "refund")[0]
    refund.status, refund.updated_at = "processing", now
    db.session.commit()
    assert payments.execute_pending(gateway=gateway, now=now + timedelta(minutes=1)).done == 0
    later = now + payments.PROCESSING_LEASE + timedelta(minutes=1)
    assert payments.execute_pending(gateway=gateway, now=later).done == 1
    assert gateway.keys("refund") == [f"refund-{booking.id}"] * 2
    assert len(gateway.refunds) == 1  # Stripe replayed the first answer


# --- card on file: charged after the session --------------------------------------------


def test_card_on_file_is_charged_off_session_once_the_session_is_over(
    people: Any, gateway: FakeGateway, now: datetime
) -> None:
    booking = save_card_on_file(people, gateway, now)
    assert status_of(booking.id) == "confirmed"
    assert payments.charge_completed_sessions(gateway=gateway, now=now).done == 0
    after = booking.end_at + timedelta(minutes=5)
    assert payments.charge_completed_sessions(gateway=gateway, now=after).done == 1
    assert payments.charge_completed_sessions(gateway=gateway, now=after).done == 0
    assert gateway.keys("charge_off_session") == [f"pay-{booking.id}"]
    assert lines(booking.id)[0].status == "succeeded"


def test_a_bank_asking_for_authentication_gets_the_client_an_email_with_a_pay_link(
    people: Any, gateway: FakeGateway, now: datetime
) -> None:
    booking = save_card_on_file(people, gateway, now, card=THREE_DS)
    after = booking.end_at + timedelta(minutes=5)
    counts = payments.charge_completed_sessions(gateway=gateway, now=after)
    assert counts.needs_client == 1
    [charge] = lines(booking.id)
    assert charge.status == "pending" and charge.stripe_payment_intent_id
    [mail] = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.kind == "payment_action_required")
    ).all()
    assert f"/payments/bookings/{booking.id}/pay" in mail.body_text
    assert mail.to_address == people[1].email

    page = payments.get_pay_page(
        client=people[1], booking_id=booking.id, gateway=gateway, now=after
    )
    assert page.action_client_secret is not None
    gateway.complete_authentication(charge.stripe_payment_intent_id)
    done = payments.verify_payment(
        client=people[1], booking_id=booking.id, gateway=gateway, now=after
    )
    assert done.status == "succeeded" and lines(booking.id)[0].status == "succeeded"


def test_a_declined_off_session_charge_is_paid_again_with_a_new_card_and_key(
    people: Any, gateway: FakeGateway, now: datetime
) -> None:
    booking = save_card_on_file(people, gateway, now, card=DECLINED)
    after = booking.end_at + timedelta(minutes=5)
    payments.charge_completed_sessions(gateway=gateway, now=after)
    assert lines(booking.id)[0].status == "failed"
    outcome = payments.submit_card(
        client=people[1],
        booking_id=booking.id,
        method="card_on_file",
        payment_method_id=CARD,
        gateway=gateway,
        now=after,
    )
    assert outcome.status == "saved"
    payments.charge_completed_sessions(gateway=gateway, now=after)
    assert gateway.keys("charge_off_session") == [f"pay-{booking.id}", f"pay-{booking.id}_2"]
    assert [line.status for line in lines(booking.id)] == ["failed", "succeeded"]


def test_stripe_unreachable_leaves_the_charge_for_the_next_sweep(
    people: Any, gateway: FakeGateway, now: datetime
) -> None:
    booking = save_card_on_file(people, gateway, now)
    after = booking.end_at + timedelta(minutes=5)
    gateway.fail_next = 1
    assert payments.charge_completed_sessions(gateway=gateway, now=after).failed == 1
    assert lines(booking.id)[0].status == "unpaid"
    assert payments.charge_completed_sessions(gateway=gateway, now=after).done == 1


# --- pay at session, ledger, receipts ---------------------------------------------------


def test_therapist_marks_a_session_paid_once(people: Any, make_user: Any, now: datetime) -> None:
    therapist, client = people
    booking = add_booking(
        therapist, client, start=now - timedelta(hours=2), status="confirmed", now=now
    )
    assert [b.id for b in payments.unpaid_sessions(therapist=therapist, now=now)] == [booking.id]
    with pytest.raises(NotFoundError):
        payments.mark_paid_at_session(
            therapist=make_user("therapist"), booking_id=booking.id, now=now
        )
    payments.mark_paid_at_session(therapist=therapist, booking_id=booking.id, now=now)
    with pytest.raises(ConflictError):
        payments.mark_paid_at_session(therapist=therapist, booking_id=booking.id, now=now)
    assert payments.unpaid_sessions(therapist=therapist, now=now) == []
    [charge] = lines(booking.id)
    assert (charge.status, charge.reason) == ("succeeded", "Paid at the session")


def test_each_party_sees_only_their_own_ledger_and_receipts(
    people: Any, make_user: Any, gateway: FakeGateway, now: datetime
) -> None:
    therapist, client = people
    booking = pay_now(people, gateway, now)
    cancel(booking, by="client", late=False, now=now)
    outsider = make_user("client")
    for party in (therapist, client):
        kinds = sorted(line.payment.kind for line in payments.list_ledger(actor=party))
        assert kinds == ["charge", "refund"]
    assert payments.list_ledger(actor=outsider) == []
    payment_id = lines(booking.id)[0].id
    assert payments.get_receipt(actor=client, payment_id=payment_id).therapist_name == "Ana Reyes"
    for stranger in (outsider, make_user("therapist")):
        with pytest.raises(NotFoundError):
            payments.get_receipt(actor=stranger, payment_id=payment_id)


# --- superbills and earnings ------------------------------------------------------------


def test_superbill_lists_sessions_with_cpt_codes_licence_and_amounts_paid(
    people: Any, now: datetime
) -> None:
    therapist, client = people
    profile = db.session.get(TherapistProfile, therapist.therapist_id)
    assert profile is not None
    profile.license_type, profile.license_number = "LCSW", "NY-123456"
    profile.license_state, profile.npi = "NY", "1234567890"
    db.session.commit()
    fifty = add_booking(
        therapist, client, start=now - timedelta(days=3), status="confirmed", now=now
    )
    long = add_booking(
        therapist,
        client,
        start=now - timedelta(days=2),
        minutes=60,
        status="confirmed",
        now=now,
    )
    group = add_booking(
        therapist,
        client,
        start=now - timedelta(days=1),
        minutes=90,
        fee_cents=2500,
        status="completed",
        group_id=7,
        now=now,
    )
    add_booking(therapist, client, start=now + timedelta(days=2), status="confirmed", now=now)
    payments.mark_paid_at_session(therapist=therapist, booking_id=fifty.id, now=now)
    bill = payments.superbill(client=client, now=now, month="2026-11")
    [provider] = bill.providers
    assert (provider.license_type, provider.license_number, provider.license_state) == (
        "LCSW",
        "NY-123456",
        "NY",
    )
    assert provider.npi == "1234567890" and provider.name == "Ana Reyes"
    assert [(line.booking_id, line.cpt) for line in provider.lines] == [
        (fifty.id, "90834"),
        (long.id, "90837"),
        (group.id, "90853"),
    ]
    assert [line.paid_cents for line in provider.lines] == [6000, 0, 0]
    assert bill.period == "November 2026"

    single = payments.superbill(client=client, now=now, booking_id=fifty.id)
    assert [line.booking_id for line in single.providers[0].lines] == [fifty.id]
    with pytest.raises(ValidationError):
        payments.superbill(client=client, now=now, month="November")


def test_a_superbill_of_someone_elses_session_is_not_found(
    people: Any, make_user: Any, now: datetime
) -> None:
    therapist, client = people
    booking = add_booking(
        therapist, client, start=now - timedelta(days=1), status="confirmed", now=now
    )
    with pytest.raises(NotFoundError):
        payments.superbill(client=make_user("client"), now=now, booking_id=booking.id)


def test_earnings_show_sessions_and_money_by_band_with_refunds_and_fees(
    people: Any, make_user: Any, gateway: FakeGateway, now: datetime
) -> None:
    therapist, client = people
    kept = pay_now(people, gateway, now, late_fee_cents=2500, waive_first=False)
    cancel(kept, by="client", late=True, now=now)
    payments.execute_pending(gateway=gateway, now=now)
    held = add_booking(
        therapist,
        client,
        start=now - timedelta(days=1),
        status="confirmed",
        fee_band="a",
        fee_cents=2000,
        now=now,
    )
    payments.mark_paid_at_session(therapist=therapist, booking_id=held.id, now=now)
    result = payments.earnings(therapist=therapist, now=now)
    by_band = {band.band: (band.sessions, band.collected_cents) for band in result.bands}
    assert by_band == {"a": (1, 2000), "b": (0, 6000)}
    assert (result.collected_cents, result.refunded_cents, result.fees_cents) == (8000, 3500, 2500)
    assert result.net_cents == 4500
    assert payments.earnings(therapist=make_user("therapist"), now=now).collected_cents == 0


# --- never twice -------------------------------------------------------------------------


def test_a_payment_whose_outcome_is_unknown_blocks_a_second_one_until_stripe_tells(
    people: Any, gateway: FakeGateway, now: datetime
) -> None:
    therapist, client = people
    accept(therapist, "pay_now")
    booking = add_booking(therapist, client, start=now + timedelta(days=3), now=now)

    def pay(card: str, at: datetime) -> Any:
        return payments.submit_card(
            client=client,
            booking_id=booking.id,
            method="pay_now",
            payment_method_id=card,
            gateway=gateway,
            now=at,
        )

    gateway.card_behaviour[CARD] = "error"  # Stripe's answer is lost on the way back
    with pytest.raises(PaymentGatewayError):
        pay(CARD, now)
    [first] = lines(booking.id)
    assert first.status == "pending" and first.stripe_payment_intent_id is None
    with pytest.raises(ConflictError) as caught:  # a double click, or an impatient retry
        pay(CARD, now + timedelta(minutes=1))
    assert caught.value.extra == {"reason": "in_progress"}
    assert len(lines(booking.id)) == 1

    # Stripe did take it: its verified webhook finds the line by booking id.
    body = stripe_event("payment_intent.succeeded", intent_object("pi_lost", 6000, booking.id))
    assert (
        payments.process_webhook(
            payload=body, signature_header=sign(body), gateway=gateway, now=now
        )
        == "processed"
    )
    assert status_of(booking.id) == "confirmed"
    assert lines(booking.id)[0].stripe_payment_intent_id == "pi_lost"


def test_an_attempt_stripe_never_confirmed_makes_way_for_a_new_one_after_a_while(
    people: Any, gateway: FakeGateway, now: datetime
) -> None:
    therapist, client = people
    accept(therapist, "pay_now")
    booking = add_booking(therapist, client, start=now + timedelta(days=3), now=now)
    gateway.fail_next = 1
    with pytest.raises(PaymentGatewayError):
        payments.submit_card(
            client=client,
            booking_id=booking.id,
            method="pay_now",
            payment_method_id=CARD,
            gateway=gateway,
            now=now,
        )
    later = now + payments.PROCESSING_LEASE + timedelta(minutes=1)
    booking_row = db.session.get(Booking, booking.id)
    assert booking_row is not None
    booking_row.hold_expires_at = later + timedelta(minutes=5)  # the hold is still on
    db.session.commit()
    outcome = payments.submit_card(
        client=client,
        booking_id=booking.id,
        method="pay_now",
        payment_method_id=CARD,
        gateway=gateway,
        now=later,
    )
    assert outcome.status == "succeeded"
    assert [line.status for line in lines(booking.id)] == ["failed", "succeeded"]
    assert gateway.keys("create_payment_intent") == [f"pay-{booking.id}", f"pay-{booking.id}_2"]


def test_an_abandoned_challenge_completed_later_is_refunded_as_a_second_payment(
    people: Any, gateway: FakeGateway, now: datetime
) -> None:
    therapist, client = people
    accept(therapist, "pay_now")
    booking = add_booking(therapist, client, start=now + timedelta(days=3), now=now)
    for card in (THREE_DS, CARD):  # the client gives up on 3-D Secure and uses another card
        payments.submit_card(
            client=client,
            booking_id=booking.id,
            method="pay_now",
            payment_method_id=card,
            gateway=gateway,
            now=now,
        )
    abandoned, paid = lines(booking.id)
    assert (abandoned.status, paid.status) == ("failed", "succeeded")
    assert abandoned.stripe_payment_intent_id is not None
    # ... and then the bank completes the first one after all: Stripe tells us by webhook.
    body = stripe_event(
        "payment_intent.succeeded",
        intent_object(abandoned.stripe_payment_intent_id, 6000, booking.id),
    )
    outcome = payments.process_webhook(
        payload=body, signature_header=sign(body), gateway=gateway, now=now
    )
    assert outcome == "processed"
    [refund] = lines(booking.id, "refund")
    assert (refund.amount_cents, refund.reason_code) == (6000, "duplicate_payment")
    assert refund.stripe_payment_intent_id == abandoned.stripe_payment_intent_id
    assert (
        payments.process_webhook(
            payload=body, signature_header=sign(body), gateway=gateway, now=now
        )
        == "duplicate"
    )
    assert len(lines(booking.id, "refund")) == 1


def test_waiving_a_fee_charged_to_the_card_refunds_it_and_keeps_it_shown_as_waived(
    people: Any, gateway: FakeGateway, now: datetime
) -> None:
    booking = save_card_on_file(people, gateway, now, late_fee_cents=3000, waive_first=False)
    cancel(booking, by="client", late=True, now=now)
    payments.execute_pending(gateway=gateway, now=now)
    payments.waive_late_fee(therapist=people[0], booking_id=booking.id, now=now)
    payments.execute_pending(gateway=gateway, now=now)
    [fee] = lines(booking.id, "late_fee")
    [refund] = lines(booking.id, "refund")
    assert fee.status == "waived" and refund.status == "succeeded"
    assert refund.stripe_payment_intent_id == fee.stripe_payment_intent_id
    assert refund.idempotency_key == f"refund-{booking.id}_waiver"
    assert payments.earnings(therapist=people[0], now=now).fees_cents == 0
