"""Journeys in Chromium against the real app: search with preferred days and times, book,
see the money on the confirm page, cancel late and see the amount, find it in the ledger;
take a seat in a group and get one email with one invitation."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from teletherapy.extensions import db as _db
from tests.booking_setup import set_availability
from tests.browser import browser_app, chromium, new_page, serve

pytestmark = pytest.mark.browser

PASSWORD = "journey-pass-123"


class Clock:
    """The views' clock, moved by the test (the server runs in this process)."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def live(sqlite_template: Path, tmp_path: Path, monkeypatch: Any) -> Iterator[dict[str, Any]]:
    from teletherapy.services import payments
    from teletherapy.services.accounts.users import create_user
    from teletherapy.services.groups import groups

    today = datetime.now(UTC).date()
    monday = today + timedelta(days=7 - today.weekday())
    clock = Clock(datetime(monday.year, monday.month, monday.day, 14, 0, tzinfo=UTC))  # 9 am NY
    import teletherapy.web.bookings.pages as booking_pages
    import teletherapy.web.groups.pages as group_pages
    import teletherapy.web.matching.pages as matching_pages
    import teletherapy.web.payments.pages as payment_pages

    for module in (booking_pages, group_pages, matching_pages, payment_pages):
        monkeypatch.setattr(module, "utcnow", clock)
    app = browser_app(sqlite_template, tmp_path, SECRET_KEY="journey-secret")
    with app.app_context():
        therapist = create_user(
            email="ana@example.org", password=PASSWORD, role="therapist", display_name="Dr Ana"
        )
        set_availability(
            therapist,
            rules=[(day, "08:00", "20:00", "online") for day in range(7)],
            cancellation_window_hours=24,
        )
        payments.update_settings(
            therapist=therapist,
            accepts_pay_now=False,
            accepts_card_on_file=False,
            accepts_pay_at_session=True,
            late_cancel_fee_cents=4000,
            waive_first_late_cancel=False,
        )
        client = create_user(
            email="lin@example.org",
            password=PASSWORD,
            role="client",
            display_name="Lin Chen",
            state="NY",
            zip="10027",
        )
        saturday = clock.now + timedelta(days=12)  # a Saturday, 9 am New York
        group = groups.create_group(
            therapist_user_id=therapist.id,
            title="Grief circle",
            modality="cbt",
            setting="online",
            capacity=6,
            fee_cents=2500,
            first_start=saturday,
            duration_minutes=60,
            weekly_count=3,
            now=clock.now,
        )
        ids = {"client": client.id, "group": group.id}
    with serve(app) as base:
        yield {"base": base, "app": app, "clock": clock, **ids}


@pytest.fixture
def page() -> Iterator[Any]:
    with chromium() as browser, new_page(browser, viewport={"width": 1280, "height": 900}) as tab:
        yield tab


def _sign_in(page: Any, base: str) -> None:
    page.goto(base + "/sign-in")
    page.fill("#email", "lin@example.org")
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def test_search_with_evenings_book_see_the_money_cancel_late_and_find_it_in_the_ledger(
    live: dict[str, Any], page: Any
) -> None:
    from playwright.sync_api import expect

    from teletherapy.models.payments import Payment

    base = live["base"]
    _sign_in(page, base)
    page.goto(base + "/find")
    page.select_option("#setting", "online")
    page.select_option("#state", "NY")
    for day in range(7):
        page.check(f"#days-{day}")
    page.check("#times-2")  # evenings
    page.get_by_role("button", name="Show therapists").click()
    result = page.locator(".result").first
    expect(result).to_contain_text("Dr A.")  # the public short name
    expect(result).to_contain_text("5:00 pm")  # the next evening opening comes first
    expect(result.locator(".earlier-opening")).to_contain_text("outside your preferred times")

    result.get_by_role("link", name="See profile and times").click()
    page.get_by_role("link", name="See open times and book").click()
    expect(page.locator("#setting")).to_have_value("online")  # opens on the searched setting
    expect(page.locator("#zone-note")).to_contain_text("Eastern Time")
    page.locator(".time-list .slot", has_text="5:00 pm").first.click()

    expect(page.locator("#price")).to_contain_text("$150 per session")
    expect(page.locator("#payment-method")).to_contain_text("At the session")
    expect(page.locator("#cancellation")).to_contain_text("Free until")
    expect(page.locator("#cancellation")).to_contain_text(", 5:00 pm E")  # EST or EDT
    expect(page.locator("#late-fee")).to_contain_text("$40")
    page.get_by_role("button", name="Confirm booking").click()
    expect(page.locator(".flash")).to_contain_text("Your session is booked.")
    session_url = page.url

    # Ten hours before the start: inside the 24-hour window.
    with live["app"].app_context():
        from teletherapy.models import Booking

        booking = _db.session.scalar(select(Booking).where(Booking.client_id == live["client"]))
        assert booking is not None
        live["clock"].now = booking.start_at - timedelta(hours=10)
        booking_id = booking.id
        _db.session.remove()
    page.goto(session_url)
    page.get_by_role("link", name="Cancel").click()
    expect(page.locator("#cost")).to_contain_text("Cancelling now costs $40.")
    page.get_by_role("button", name="Cancel the session").click()
    expect(page.locator("#money-outcome")).to_contain_text("Late-cancellation fee $40")

    page.goto(base + "/payments/")
    expect(page.locator("main")).to_contain_text("$40")
    with live["app"].app_context():
        fees = _db.session.scalars(
            select(Payment).where(Payment.booking_id == booking_id, Payment.kind == "late_fee")
        ).all()
        assert [f.amount_cents for f in fees] == [4000]
        _db.session.remove()


def test_take_a_seat_after_the_confirm_step_and_get_one_email_with_one_invite(
    live: dict[str, Any], page: Any
) -> None:
    from playwright.sync_api import expect

    from teletherapy.models import OutboxMessage

    base = live["base"]
    _sign_in(page, base)
    page.goto(f"{base}/groups/{live['group']}")
    page.get_by_role("link", name="Take a seat").click()
    expect(page.locator("#per-meeting")).to_have_text("$25")
    expect(page.locator("#meeting-count")).to_have_text("3 meetings")
    expect(page.locator("#total")).to_contain_text("$75")
    page.get_by_role("button", name="Confirm my seat").click()
    expect(page.locator(".flash")).to_contain_text("Your seat is booked")
    page.goto(base + "/sessions")
    expect(page.locator(".group-badge")).to_have_count(3)
    with live["app"].app_context():
        mail = _db.session.scalars(
            select(OutboxMessage).where(
                OutboxMessage.user_id == live["client"], OutboxMessage.kind != "reminder"
            )
        ).all()
        assert len(mail) == 1
        ics = (mail[0].ics or b"").decode()
        assert ics.count("BEGIN:VEVENT") == 1 and "RRULE:FREQ=WEEKLY;COUNT=3" in ics
        _db.session.remove()


def test_a_therapist_saves_a_day_off_over_a_booking_and_is_asked_first(
    live: dict[str, Any], page: Any, monkeypatch: Any
) -> None:
    from playwright.sync_api import expect

    import teletherapy.web.practice.availability as availability_pages
    from teletherapy.models import Booking
    from teletherapy.services import bookings

    clock = live["clock"]
    monkeypatch.setattr(availability_pages, "utcnow", clock)
    start = clock.now + timedelta(days=2, hours=2)  # Wednesday, 11 am New York
    with live["app"].app_context():
        therapist_id = _db.session.scalar(select(Booking.therapist_id).limit(1))
        booked = bookings.book_session(
            client_id=live["client"],
            therapist_id=therapist_id,
            start=start,
            setting="online",
            now=clock.now,
        ).first
        booking_id = booked.id
        _db.session.remove()
    page.goto(live["base"] + "/sign-in")
    page.fill("#email", "ana@example.org")
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(live["base"] + "/practice/availability")
    day_off = start.date().isoformat()
    page.fill("#vacation_from", day_off)
    page.fill("#vacation_to", day_off)
    page.get_by_role("button", name="Save availability").click()
    # The lifecycle's 409: the page lists the session and asks before anything is saved.
    affected = page.locator("#affected-sessions")
    expect(affected).to_contain_text("Lin Chen")
    with live["app"].app_context():
        assert _db.session.get(Booking, booking_id).status == "confirmed"
        _db.session.remove()
    page.check("input[name=affected_bookings][value=cancel]")
    page.get_by_role("button", name="Save availability").click()
    expect(page.locator(".flash").first).to_be_visible()
    with live["app"].app_context():
        assert _db.session.get(Booking, booking_id).status == "cancelled"
        _db.session.remove()
