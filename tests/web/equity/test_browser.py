"""Chromium renders /admin/equity at desktop and phone widths: axe-clean, no sideways scroll."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from teletherapy.clock import utcnow
from teletherapy.extensions import db as _db
from teletherapy.models import EquitySearch
from tests.browser import PASSWORD, axe_violations, browser_app, chromium, new_page, serve, sign_in

pytestmark = pytest.mark.browser


@pytest.fixture
def live_server(sqlite_template: Path, tmp_path: Path) -> Iterator[str]:
    """The app on loopback with an administrator and 40 searches of the last days."""
    from teletherapy.services.accounts.users import create_user

    app = browser_app(sqlite_template, tmp_path)
    with app.app_context():
        create_user(email="admin@example.org", password=PASSWORD, role="admin", display_name="Ad")
        when = utcnow().replace(minute=0, second=0, microsecond=0) - timedelta(days=3)
        places = [("a", "online", "NY", "es")] * 15 + [("b", "online", "NY", "")] * 15
        places += [("a", "home", "TX", "")] * 12
        for i, (band, setting, state, language) in enumerate(places):
            _db.session.add(
                EquitySearch(
                    searched_at=when - timedelta(hours=i),
                    fee_band=band,
                    setting=setting,
                    state=state,
                    required_languages=language,
                    preferred_languages="",
                    result_count=0 if state == "TX" or i % 3 == 0 else 2,
                    most_removed_by="no_therapist_in_place" if state == "TX" else None,
                )
            )
        _db.session.commit()
    with serve(app) as url:
        yield url


@pytest.fixture
def browser() -> Iterator[Any]:
    with chromium() as browser:
        yield browser


@pytest.mark.parametrize("width", [1280, 390])
def test_the_equity_page_is_axe_clean_without_sideways_scroll(
    live_server: str, browser: Any, width: int
) -> None:
    with new_page(browser, viewport={"width": width, "height": 900}) as page:
        sign_in(page, live_server, "admin@example.org")
        page.goto(f"{live_server}/admin/equity")
        assert page.get_by_role("heading", name="Access equity").is_visible()
        assert page.locator("svg[role=img]").count() >= 1
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{overflow}px of sideways scroll at {width}px"
        assert axe_violations(page) == []
