"""Chromium renders /admin/equity at desktop and phone widths: axe-clean, no sideways scroll."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from teletherapy import create_app
from teletherapy.clock import utcnow
from teletherapy.extensions import db as _db
from teletherapy.models import EquitySearch
from tests.peers import free_port, peer_missing, wait_for_port
from tests.web.bookings.test_browser import CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.browser
PASSWORD = "browser-pass-123"
# axe-core: the copy vendored under tests/vendor (with its licence), or AXE_CORE_JS.
AXE_PATHS = [
    os.environ.get("AXE_CORE_JS", ""),
    str(Path(__file__).resolve().parents[2] / "vendor" / "axe-core" / "axe.min.js"),
]


@pytest.fixture
def live_server(sqlite_template: Path, tmp_path: Path) -> Iterator[str]:
    """The app on loopback with an administrator and 40 searches of the last days."""
    from teletherapy.services.accounts.users import create_user

    database = tmp_path / "browser.sqlite3"
    shutil.copyfile(sqlite_template, database)
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "browser-test-secret",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}",
            "RATELIMIT_ENABLED": False,
        },
        instance_path=tmp_path / "instance",
    )
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
        _db.session.remove()
    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    assert wait_for_port(port)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        thread.join(10)


@pytest.fixture
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        peer_missing(f"Chromium not found at {CHROMIUM}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - dev extras installed
        peer_missing("playwright is not installed")
    with sync_playwright() as playwright:
        try:
            chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        except Exception as exc:
            peer_missing(f"Chromium does not start: {exc}")
        try:
            yield chromium
        finally:
            chromium.close()


def _axe() -> str:
    for path in AXE_PATHS:
        if path and Path(path).is_file():
            return Path(path).read_text(encoding="utf-8")
    peer_missing("axe-core not found (npm install axe-core, or set AXE_CORE_JS)")
    raise AssertionError  # pragma: no cover


@pytest.mark.parametrize("width", [1280, 390])
def test_the_equity_page_is_axe_clean_without_sideways_scroll(
    live_server: str, browser: Any, width: int
) -> None:
    axe = _axe()
    # bypass_csp: axe-core is injected as an inline script, which the site's policy refuses
    # (test_csp_browser walks every page under the real policy, this one included).
    context = browser.new_context(viewport={"width": width, "height": 900}, bypass_csp=True)
    context.set_default_timeout(20_000)
    page = context.new_page()
    try:
        page.goto(f"{live_server}/sign-in")
        page.get_by_label("Email").fill("admin@example.org")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(lambda url: "/sign-in" not in url)
        page.goto(f"{live_server}/admin/equity")
        assert page.get_by_role("heading", name="Access equity").is_visible()
        assert page.locator("svg[role=img]").count() >= 1
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{overflow}px of sideways scroll at {width}px"
        page.add_script_tag(content=axe)
        result = page.evaluate("async () => await axe.run(document)")
        violations = [
            (v["id"], [n["target"] for n in v["nodes"]][:3]) for v in result["violations"]
        ]
        assert violations == []
    finally:
        context.close()
