"""Chromium edits a therapist's week on /practice/availability: the grid with the keyboard,
the phone layout, the page without JavaScript, and errors that leave column widths alone."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask

from tests.booking_setup import set_availability
from tests.browser import PHONE, axe_violations, browser_app, chromium, new_page, serve, sign_in

pytestmark = pytest.mark.browser

EMAIL = "ana@example.org"


@pytest.fixture
def live(sqlite_template: Path, tmp_path: Path) -> Iterator[tuple[Flask, str]]:
    """The app on loopback with one therapist who works Monday 09:00-12:00 online."""
    from teletherapy.services.accounts.users import create_user
    from tests.browser import PASSWORD

    app = browser_app(sqlite_template, tmp_path)
    with app.app_context():
        therapist = create_user(
            email=EMAIL, password=PASSWORD, role="therapist", display_name="Ana"
        )
        set_availability(therapist, rules=[(0, "09:00", "12:00", "online")])
    with serve(app) as url:
        yield app, url


@pytest.fixture
def browser() -> Iterator[Any]:
    with chromium() as chrome:
        yield chrome


def weekly(app: Flask) -> list[dict[str, Any]]:
    from teletherapy.extensions import db
    from teletherapy.models import User
    from teletherapy.services.availability.rules import get_availability

    with app.app_context():
        user = db.session.query(User).filter_by(email=EMAIL).one()
        assert user.therapist_id is not None
        rules: list[dict[str, Any]] = get_availability(therapist_id=user.therapist_id)["weekly"]
        db.session.remove()
        return rules


def test_keyboard_adds_moves_and_removes_blocks_then_saves(
    live: tuple[Flask, str], browser: Any
) -> None:
    from playwright.sync_api import expect

    app, url = live
    with new_page(browser, viewport={"width": 1280, "height": 900}) as page:
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        sign_in(page, url, EMAIL)
        page.goto(f"{url}/practice/availability")
        grid = page.locator("#week-editor-grid")
        expect(grid).to_be_visible()
        expect(page.locator("#week-picture")).to_be_hidden()  # the editor replaces the picture
        monday = grid.get_by_role("button", name="Monday, 09:00 to 12:00, Online")
        expect(monday).to_be_visible()
        assert axe_violations(page) == []

        # A home-visit block on Tuesday, with the keyboard only.
        page.get_by_label("Setting for new blocks").select_option("home")
        grid.get_by_role("button", name="Add hours on Tuesday").focus()
        page.keyboard.press("Enter")
        block = grid.get_by_role("button", name="Tuesday, 09:00 to 10:00, Home visit")
        expect(block).to_be_focused()
        for _ in range(4):
            page.keyboard.press("ArrowDown")  # a quarter hour each
        page.keyboard.press("Shift+ArrowDown")
        page.keyboard.press("Shift+ArrowDown")
        page.keyboard.press("ArrowRight")  # to Wednesday
        moved = grid.get_by_role("button", name="Wednesday, 10:00 to 11:30, Home visit")
        expect(moved).to_be_focused()
        expect(page.locator("#week-editor-status")).to_have_text("Now Wednesday 10:00 to 11:30.")
        # The block's small form is its line: the same values, in the form that is submitted.
        values = page.evaluate(
            """() => Array.from(document.querySelectorAll('#weekly-rows tr'))
                 .filter(tr => !tr.hidden && tr.querySelector('[name$=-start]').value)
                 .map(tr => ['weekday', 'start', 'end', 'setting']
                   .map(n => tr.querySelector('[name$=-' + n + ']').value).join(' '))"""
        )
        assert values == ["0 09:00 12:00 online", "2 10:00 11:30 home"]

        # Monday's block removed with the Delete key.
        monday.focus()
        page.keyboard.press("Delete")
        expect(monday).to_have_count(0)
        expect(grid.get_by_role("button", name="Add hours on Monday")).to_be_focused()
        assert axe_violations(page) == []

        page.get_by_role("button", name="Save availability").focus()
        page.keyboard.press("Enter")
        expect(page.locator(".flash-success")).to_have_text("Your availability is saved.")
        expect(
            grid.get_by_role("button", name="Wednesday, 10:00 to 11:30, Home visit")
        ).to_be_visible()
        assert errors == []
    assert weekly(app) == [{"weekday": 2, "start": "10:00", "end": "11:30", "setting": "home"}]


def test_a_block_is_added_by_clicking_an_hour_and_moved_by_dragging(
    live: tuple[Flask, str], browser: Any
) -> None:
    from playwright.sync_api import expect

    app, url = live
    with new_page(browser, viewport={"width": 1280, "height": 900}) as page:
        sign_in(page, url, EMAIL)
        page.goto(f"{url}/practice/availability")
        grid = page.locator("#week-editor-grid")
        thursday = grid.locator(".ed-track[data-day='3']")
        thursday.locator(".ed-cell[data-minute='840']").click()  # 14:00
        block = grid.get_by_role("button", name="Thursday, 14:00 to 15:00, Online")
        expect(block).to_be_visible()
        box = block.bounding_box()
        friday = grid.locator(".ed-track[data-day='4']").bounding_box()
        assert box is not None and friday is not None
        quarter = grid.locator(".ed-cell").first.bounding_box()["height"] / 4
        page.mouse.move(box["x"] + 10, box["y"] + 5)
        page.mouse.down()
        page.mouse.move(friday["x"] + 10, box["y"] + 5 + 4 * quarter, steps=8)
        page.mouse.up()
        expect(grid.get_by_role("button", name="Friday, 15:00 to 16:00, Online")).to_be_visible()
        page.get_by_role("button", name="Save availability").click()
        expect(page.locator(".flash-success")).to_be_visible()
    assert weekly(app) == [
        {"weekday": 0, "start": "09:00", "end": "12:00", "setting": "online"},
        {"weekday": 4, "start": "15:00", "end": "16:00", "setting": "online"},
    ]


def test_on_a_phone_each_day_is_a_row_with_large_targets_and_no_sideways_scroll(
    live: tuple[Flask, str], browser: Any
) -> None:
    from playwright.sync_api import expect

    app, url = live
    with new_page(browser, **PHONE) as page:
        sign_in(page, url, EMAIL)
        page.goto(f"{url}/practice/availability")
        grid = page.locator("#week-editor-grid")
        grid.get_by_role("button", name="Add hours on Wednesday").click()
        added = grid.get_by_role("button", name="Wednesday, 09:00 to 10:00, Online")
        expect(added).to_be_visible()
        tops = [day.bounding_box()["y"] for day in grid.locator(".ed-day").all()]
        assert len(tops) == 7 and tops == sorted(tops) and len(set(tops)) == 7  # one day a row
        targets = grid.locator(".ed-move, .ed-remove, .ed-add").all()
        assert len(targets) == 7 + 2 * 2
        for target in targets:
            size = target.bounding_box()
            assert size is not None and size["height"] >= 44 and size["width"] >= 44
        assert page.evaluate(
            "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
        )
        assert axe_violations(page) == []
        grid.get_by_role("button", name="Remove Monday 09:00 to 12:00").tap()
        expect(page.locator("#weekly-0-start")).to_be_hidden()  # its line is dropped too
        page.get_by_role("button", name="Save availability").tap()
        expect(page.locator(".flash-success")).to_be_visible()
    assert weekly(app) == [{"weekday": 2, "start": "09:00", "end": "10:00", "setting": "online"}]


def test_without_javascript_the_lines_still_save(live: tuple[Flask, str], browser: Any) -> None:
    from playwright.sync_api import expect

    app, url = live
    with new_page(browser, java_script_enabled=False) as page:
        sign_in(page, url, EMAIL)
        page.goto(f"{url}/practice/availability")
        expect(page.locator("#week-editor")).to_be_hidden()
        expect(page.locator("#week-picture")).to_be_visible()
        page.locator("#weekly-1-weekday").select_option("4")
        page.locator("#weekly-1-start").fill("13:00")
        page.locator("#weekly-1-end").fill("15:00")
        page.locator("#weekly-1-setting").select_option("in_office")
        page.get_by_role("button", name="Save availability").click()
        expect(page.locator(".flash-success")).to_be_visible()
    assert weekly(app) == [
        {"weekday": 0, "start": "09:00", "end": "12:00", "setting": "online"},
        {"weekday": 4, "start": "13:00", "end": "15:00", "setting": "in_office"},
    ]


WIDTHS = """() => ({
  weekly: Array.from(document.querySelectorAll('.weekly-table thead th'))
    .map(th => th.getBoundingClientRect().width),
  overrides: Array.from(document.querySelectorAll('.override-table thead th'))
    .map(th => th.getBoundingClientRect().width),
  days: Array.from(document.querySelectorAll('#week-editor-grid .ed-day'))
    .map(day => day.getBoundingClientRect().width),
})"""


def test_a_failed_save_marks_the_block_and_line_without_changing_column_widths(
    live: tuple[Flask, str], browser: Any
) -> None:
    from playwright.sync_api import expect

    app, url = live
    with new_page(browser, viewport={"width": 1280, "height": 900}) as page:
        sign_in(page, url, EMAIL)
        page.goto(f"{url}/practice/availability")
        before = page.evaluate(WIDTHS)
        assert len(before["days"]) == 7 and len(before["weekly"]) == 5
        # Monday 10:00-11:00 overlaps 09:00-12:00; a date with a typo in an override line.
        page.locator("#weekly-1-weekday").select_option("0")
        page.locator("#weekly-1-start").fill("10:00")
        page.locator("#weekly-1-end").fill("11:00")
        page.locator("#override-0-date").fill("2026-12-31")
        page.locator("#override-0-start").fill("15:00")
        page.locator("#override-0-end").fill("10:00")
        page.get_by_role("button", name="Save availability").click()
        expect(page.locator(".error-summary")).to_be_visible()
        expect(page.locator("#weekly-rows tr.has-error .error").first).to_be_visible()
        expect(page.locator("#override-rows tr.has-error .error").first).to_be_visible()
        faulty = page.locator("#week-editor-grid .ed-block.has-error")
        expect(faulty).to_have_count(1)  # the line the service names
        expect(faulty).to_have_class(re.compile(r"\bed-overlap\b"))  # beside 09:00, not over it
        message = page.locator("#weekly-rows tr.has-error .error").first.inner_text()
        expect(faulty.first).to_have_attribute("title", message)
        problems = page.locator("#week-editor-problems")
        expect(problems).to_contain_text("Monday, 10:00 to 11:00, Online")
        problems.get_by_role("button").last.click()  # leads to the line at fault
        expect(page.locator("#weekly-rows tr.has-error input[name$=-start]").last).to_be_focused()
        after = page.evaluate(WIDTHS)
        assert after == before
        assert axe_violations(page) == []
    assert weekly(app) == [{"weekday": 0, "start": "09:00", "end": "12:00", "setting": "online"}]


def test_moving_a_block_off_a_booked_session_asks_keep_or_cancel(
    live: tuple[Flask, str], browser: Any
) -> None:
    from playwright.sync_api import expect

    from teletherapy.clock import utcnow
    from teletherapy.extensions import db
    from teletherapy.models import Booking, User
    from teletherapy.services.accounts.users import create_user
    from tests.booking_rows import add_booking
    from tests.browser import PASSWORD

    app, url = live
    zone = ZoneInfo("America/New_York")
    today = utcnow().astimezone(zone).date()
    monday = today + timedelta(days=(7 - today.weekday()) % 7 or 7)
    if (monday - today).days < 3:
        monday += timedelta(days=7)
    with app.app_context():
        therapist = db.session.query(User).filter_by(email=EMAIL).one()
        client = create_user(
            email="rosa@example.org", password=PASSWORD, role="client", display_name="Rosa Diaz"
        )
        start = datetime.combine(monday, time(10, 0), tzinfo=zone).astimezone(UTC)
        booking_id = add_booking(db, therapist, client, start).id
        db.session.remove()

    with new_page(browser, viewport={"width": 1280, "height": 900}) as page:
        sign_in(page, url, EMAIL)
        page.goto(f"{url}/practice/availability")
        grid = page.locator("#week-editor-grid")
        grid.get_by_role("button", name="Monday, 09:00 to 12:00, Online").focus()
        page.keyboard.press("ArrowRight")
        expect(grid.get_by_role("button", name="Tuesday, 09:00 to 12:00, Online")).to_be_focused()
        page.get_by_role("button", name="Save availability").click()
        asked = page.locator("#affected-sessions")
        expect(asked).to_be_visible()
        expect(asked).to_contain_text("Rosa Diaz")
        # The grid shows the week being saved, not the saved one.
        expect(grid.get_by_role("button", name="Tuesday, 09:00 to 12:00, Online")).to_be_visible()
        page.get_by_label("Keep them as booked").check()
        page.get_by_role("button", name="Save availability").click()
        expect(page.locator(".flash-success")).to_be_visible()
    assert weekly(app) == [{"weekday": 1, "start": "09:00", "end": "12:00", "setting": "online"}]
    with app.app_context():
        assert db.session.get(Booking, booking_id).status == "confirmed"


def test_the_grid_speaks_the_therapists_language(live: tuple[Flask, str], browser: Any) -> None:
    from playwright.sync_api import expect

    from teletherapy.extensions import db
    from teletherapy.models import User

    app, url = live
    with app.app_context():
        db.session.query(User).filter_by(email=EMAIL).one().language = "es"
        db.session.commit()
        db.session.remove()
    with new_page(browser, viewport={"width": 1280, "height": 900}) as page:
        sign_in(page, url, EMAIL)
        page.goto(f"{url}/practice/availability")
        grid = page.locator("#week-editor-grid")
        expect(grid.get_by_role("button", name="Lunes, de 09:00 a 12:00, En línea")).to_be_visible()
        grid.get_by_role("button", name="Agregar horas: Martes").click()
        expect(page.locator("#week-editor-status")).to_have_text(
            "Se agregó Martes de 09:00 a 10:00."
        )
        expect(page.get_by_label("Modalidad de los bloques nuevos")).to_be_visible()
