"""What every browser test shares: the app served on loopback, Chromium, and axe-core.

Chromium is a peer: absent, a test skips on a developer's machine and fails in CI.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.serving import make_server

from teletherapy import create_app
from teletherapy.extensions import db
from tests.peers import free_port, peer_missing, wait_for_port

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
]
PASSWORD = "browser-pass-123"
AXE = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


def browser_app(sqlite_template: Path, tmp_path: Path, **config: Any) -> Flask:
    """The app on a copy of the migrated SQLite template, CSRF on as in production."""
    database = tmp_path / "browser.sqlite3"
    shutil.copyfile(sqlite_template, database)
    settings = {
        "TESTING": True,
        "SECRET_KEY": "browser-test-secret",
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}",
        "RATELIMIT_ENABLED": False,
        **config,
    }
    return create_app(settings, instance_path=tmp_path / "instance")


@contextmanager
def serve(app: Flask) -> Iterator[str]:
    """The app on 127.0.0.1 in a thread; yields its base URL."""
    with app.app_context():
        db.session.remove()
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
        with app.app_context():
            db.engine.dispose()


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium (Playwright's Browser)."""
    if not Path(CHROMIUM).exists():
        peer_missing(f"Chromium not found at {CHROMIUM}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - dev extras installed
        peer_missing("playwright is not installed")
    with sync_playwright() as playwright:
        try:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        except Exception as exc:
            peer_missing(f"Chromium does not start: {exc}")
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def new_page(browser: Any, **context_options: Any) -> Iterator[Any]:
    """A page in a fresh context (its own cookies), closed afterwards.

    The site's Content-Security-Policy is bypassed unless asked otherwise: axe-core is
    injected as an inline script, which the policy refuses (tests/web/test_csp_browser.py
    walks every page under the real policy).
    """
    context = browser.new_context(**{"bypass_csp": True, **context_options})
    context.set_default_timeout(20_000)
    try:
        yield context.new_page()
    finally:
        context.close()


def sign_in(page: Any, base_url: str, email: str, password: str = PASSWORD) -> None:
    page.goto(f"{base_url}/sign-in")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.locator("form.card button[type=submit], form.card input[type=submit]").first.click()
    page.wait_for_url(lambda url: "/sign-in" not in url)


def axe_violations(page: Any, tags: list[str] | None = None) -> list[tuple[str, list[Any]]]:
    """axe-core's WCAG 2.1 A and AA violations on the page: (rule, first targets)."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "async (tags) => await axe.run(document, {runOnly: {type: 'tag', values: tags}})",
        tags or WCAG_AA,
    )
    return [(v["id"], [n["target"] for n in v["nodes"]][:3]) for v in result["violations"]]
