"""Chromium visits every page as each role at 1280 px and 390 px: no horizontal scrolling on a
phone, axe-core finds no violations of any impact, the console stays clean.

With SCREENSHOTS_DIR set (`make screenshots`) it also saves each page at both widths.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser import chromium
from tests.web.browser_site import (
    WIDTHS,
    Site,
    axe_violations,
    demo_site,
    horizontal_overflow,
    sign_in,
)

pytestmark = pytest.mark.browser

ROLES = ("anonymous", "client", "therapist", "admin")
# The main pages that `make screenshots` keeps (role, page name).
SCREENSHOTS = {
    ("anonymous", "home"),
    ("anonymous", "find"),
    ("anonymous", "not-found"),
    ("client", "book"),
    ("client", "confirm"),
    ("client", "cancel"),
    ("client", "sessions"),
    ("client", "group-seat"),
    ("therapist", "schedule-week"),
    ("therapist", "availability"),
    ("admin", "admin"),
}


@pytest.fixture(scope="module")
def site(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("every-page")
    database = folder / "site.sqlite3"
    shutil.copyfile(sqlite_template, database)
    with demo_site(database, folder / "instance") as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as browser:
        yield browser


@pytest.mark.parametrize("role", ROLES)
def test_every_page_fits_a_phone_passes_axe_and_logs_no_errors(
    site: Site, browser: Any, role: str
) -> None:
    shots = os.environ.get("SCREENSHOTS_DIR")
    problems: list[str] = []
    for width in WIDTHS:
        # bypass_csp: axe-core is injected inline (test_csp_browser checks the real policy).
        context = browser.new_context(viewport={"width": width, "height": 900}, bypass_csp=True)
        page = context.new_page()
        errors: list[str] = []
        page.on(
            "console", lambda m, errors=errors: errors.append(m.text) if m.type == "error" else None
        )
        page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
        sign_in(page, site, role)
        for name, path in site.urls[role]:
            errors.clear()
            response = page.goto(site.base + path)
            assert response is not None
            expected = 404 if name == "not-found" else 200
            if response.status != expected:
                problems.append(f"{role} {name} {width}px: HTTP {response.status}")
                continue
            if width < 500 and (over := horizontal_overflow(page)) > 0:
                problems.append(f"{role} {name} {width}px: {over}px horizontal scroll")
            for v in axe_violations(page):
                problems.append(
                    f"{role} {name} {width}px: axe {v['id']} ({v['impact']}) {v['nodes']}"
                )
            # A 404 page logs its own status as a console error in Chromium.
            real = [e for e in errors if not (name == "not-found" and "404" in e)]
            if real:
                problems.append(f"{role} {name} {width}px: console {real}")
            if shots and (role, name) in SCREENSHOTS:
                target = Path(shots) / f"{role}-{name}-{width}.png"
                target.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(target), full_page=True)
        context.close()
    assert not problems, "\n".join(problems)
