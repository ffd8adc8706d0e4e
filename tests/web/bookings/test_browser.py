"""Chromium walks a client from a therapist's booking page to a confirmed session and back
to a cancellation, against the real app served on loopback (SQLite, CSRF on)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.booking_setup import set_availability
from tests.browser import PASSWORD, browser_app, chromium, new_page, serve

pytestmark = pytest.mark.browser


@pytest.fixture
def live_server(sqlite_template: Path, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """The app on 127.0.0.1 in a thread, with one therapist (open every day) and one client."""
    from teletherapy.services.accounts.users import create_user

    app = browser_app(sqlite_template, tmp_path, VIDEO_BASE_URL="https://meet.example.org")
    with app.app_context():
        therapist = create_user(
            email="ana@example.org",
            password=PASSWORD,
            role="therapist",
            display_name="Dr Ana Ruiz",
        )
        therapist_id = set_availability(
            therapist, rules=[(day, "08:00", "20:00", "online") for day in range(7)]
        )
        create_user(
            email="lin@example.org",
            password=PASSWORD,
            role="client",
            display_name="Lin",
            time_zone="America/Chicago",
            state="NY",
            zip="10027",
        )
    with serve(app) as url:
        yield {"url": url, "therapist_id": therapist_id}


@pytest.fixture
def page() -> Iterator[Any]:
    with chromium() as browser, new_page(browser) as tab:
        tab.set_default_timeout(15_000)
        yield tab


def test_client_books_a_slot_sees_it_and_cancels_it(live_server: dict[str, Any], page: Any) -> None:
    from playwright.sync_api import expect

    base = live_server["url"]
    page.goto(f"{base}/sign-in")
    page.get_by_label("Email").fill("lin@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(
        page.get_by_role("navigation", name="Main").get_by_role(
            "link", name="My sessions", exact=True
        )
    ).to_be_visible()

    page.goto(f"{base}/sessions/book/{live_server['therapist_id']}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Book a session with Dr Ana Ruiz")
    expect(page.locator("#zone-note")).to_contain_text("Central Time")  # the zone in words
    # The picker opens on the first day with openings, its times beside the month.
    expect(page.locator("a.day[aria-current=date]")).to_have_count(1)
    first = page.locator(".time-list a.slot").first
    chosen = first.locator(".slot-time").inner_text().strip()  # e.g. "8:00 am CST"
    first.click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm your session")
    expect(page.locator("dl")).to_contain_text(chosen)
    page.get_by_role("button", name="Confirm booking").click()
    expect(page.locator(".flash-success")).to_have_text("Your session is booked.")
    expect(page.locator("#status")).to_have_text("confirmed")

    page.get_by_role("navigation", name="Main").get_by_role(
        "link", name="My sessions", exact=True
    ).click()
    upcoming = page.locator("section", has=page.get_by_role("heading", name="Upcoming"))
    row = upcoming.locator("tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Dr Ana Ruiz")
    expect(row).to_contain_text(chosen)
    row.get_by_role("link").click()

    page.get_by_role("link", name="Cancel", exact=True).click()
    expect(page.locator("#late-notice")).to_be_visible()
    page.get_by_label("Reason (optional; shared with the other person)").fill("Plans changed")
    page.get_by_role("button", name="Cancel the session").click()
    expect(page.locator("#status")).to_contain_text("cancelled by the client")

    page.get_by_role("navigation", name="Main").get_by_role(
        "link", name="My sessions", exact=True
    ).click()
    expect(page.get_by_text("No upcoming sessions.")).to_be_visible()
