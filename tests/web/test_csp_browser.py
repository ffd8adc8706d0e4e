"""Chromium loads every page, as each role, under the real policy: no CSP violation at all."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

from teletherapy import create_app
from teletherapy.extensions import db as _db
from tests.booking_setup import set_availability
from tests.peers import free_port, peer_missing, wait_for_port

try:
    from playwright.sync_api import Error as PlaywrightError
except ImportError:  # pragma: no cover - dev extras installed; the browser fixture says so
    PlaywrightError = Exception  # type: ignore[misc,assignment]

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
]
PASSWORD = "browser-pass-123"
SKIPPED = ("/api/", "/static/", "/feeds/", "/webhooks/", "/healthz")


def page_paths(app: Flask) -> list[str]:
    """Every GET page without URL arguments, straight from the URL map."""
    return sorted(
        {
            rule.rule
            for rule in app.url_map.iter_rules()
            if "GET" in (rule.methods or ())
            and not rule.arguments
            and not rule.rule.startswith(SKIPPED)
            and not rule.rule.endswith((".pdf", ".ics", ".json", "/download"))
        }
    )


@pytest.fixture(scope="module")
def site(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from teletherapy.services.accounts.users import create_user

    folder = tmp_path_factory.mktemp("csp")
    database = folder / "csp.sqlite3"
    shutil.copyfile(sqlite_template, database)
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "csp-test-secret",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}",
            "RATELIMIT_ENABLED": False,
        },
        instance_path=folder / "instance",
    )
    with app.app_context():
        therapist = create_user(email="ana@example.org", password=PASSWORD, role="therapist")
        set_availability(therapist, rules=[(d, "08:00", "20:00", "online") for d in range(7)])
        create_user(email="lin@example.org", password=PASSWORD, state="NY", zip="10027")
        create_user(email="root@example.org", password=PASSWORD, role="admin")
        paths = page_paths(app)
        _db.session.remove()
    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    assert wait_for_port(port)
    try:
        yield f"http://127.0.0.1:{port}", paths
    finally:
        server.shutdown()
        thread.join(10)
        with app.app_context():
            _db.engine.dispose()


@pytest.fixture
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        peer_missing(f"Chromium not found at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        try:
            launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        except Exception as exc:
            peer_missing(f"Chromium does not start: {exc}")
        try:
            yield launched
        finally:
            launched.close()


@pytest.mark.parametrize("email", [None, "lin@example.org", "ana@example.org", "root@example.org"])
def test_no_page_breaks_the_content_security_policy(
    site: tuple[str, list[str]], browser: Any, email: str | None
) -> None:
    base, paths = site
    context = browser.new_context()
    context.set_default_timeout(15_000)
    page = context.new_page()
    violations: list[str] = []
    page.on(
        "console",
        lambda m: (
            violations.append(f"{page.url}: {m.text}")
            if "Content Security Policy" in m.text
            else None
        ),
    )
    page.add_init_script(
        "document.addEventListener('securitypolicyviolation', e => "
        "console.error('Content Security Policy violation: ' + e.violatedDirective))"
    )
    if email:
        page.goto(f"{base}/sign-in")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_load_state()
    visited = 0
    for path in paths:
        try:
            response = page.goto(base + path)
        except PlaywrightError as exc:  # a download (CSV, JSON export) is not a page
            if "Download is starting" in str(exc):
                continue
            raise
        assert response is not None
        if response.status < 400:
            visited += 1
        page.wait_for_load_state("load")
    context.close()
    assert visited >= 5
    assert violations == []
