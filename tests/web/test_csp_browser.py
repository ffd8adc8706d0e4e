"""Chromium loads every page, as each role, under the real policy: no CSP violation at all."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from tests.booking_setup import set_availability
from tests.browser import PASSWORD, browser_app, chromium, serve

try:
    from playwright.sync_api import Error as PlaywrightError
except ImportError:  # pragma: no cover - dev extras installed; the browser fixture says so
    PlaywrightError = Exception  # type: ignore[misc,assignment]

pytestmark = pytest.mark.browser

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
    app = browser_app(sqlite_template, folder, SECRET_KEY="csp-test-secret")
    with app.app_context():
        therapist = create_user(email="ana@example.org", password=PASSWORD, role="therapist")
        set_availability(therapist, rules=[(d, "08:00", "20:00", "online") for d in range(7)])
        create_user(email="lin@example.org", password=PASSWORD, state="NY", zip="10027")
        create_user(email="root@example.org", password=PASSWORD, role="admin")
        paths = page_paths(app)
    with serve(app) as url:
        yield url, paths


@pytest.fixture
def browser() -> Iterator[Any]:
    with chromium() as launched:
        yield launched


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
