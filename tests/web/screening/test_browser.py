"""Chromium on a 390 px phone answers the questionnaires in Spanish, one question per screen,
and axe-core (shipped offline inside the axe-playwright-python package) finds no violations."""

from __future__ import annotations

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
from tests.booking_rows import add_booking
from tests.peers import free_port, peer_missing, wait_for_port

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


@pytest.fixture
def live_server(sqlite_template: Path, tmp_path: Path) -> Iterator[str]:
    """The app on loopback (SQLite, CSRF on): a Spanish-speaking client and their therapist."""
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
        therapist = create_user(
            email="ana@example.org", password=PASSWORD, role="therapist", display_name="Ana"
        )
        client = create_user(
            email="rosa@example.org", password=PASSWORD, role="client", display_name="Rosa",
            language="es", state="NY", zip="10027",
        )  # fmt: skip
        add_booking(_db, therapist, client, utcnow() - timedelta(days=7), status="completed")
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
        with app.app_context():
            _db.engine.dispose()


@pytest.fixture
def phone() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        peer_missing(f"Chromium not found at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        try:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        except Exception as exc:
            peer_missing(f"Chromium does not start: {exc}")
        # bypass_csp: axe-core is injected as an inline script, which the site's policy
        # refuses (test_csp_browser walks every page under the real policy).
        context = browser.new_context(
            viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, bypass_csp=True
        )
        context.set_default_timeout(15_000)
        try:
            yield context.new_page()
        finally:
            context.close()
            browser.close()


def axe_violations(page: Any) -> list[dict[str, Any]]:
    try:
        import axe_playwright_python
    except ImportError:  # pragma: no cover - dev extras installed
        peer_missing("axe-playwright-python (which ships axe-core) is not installed")
    script = Path(axe_playwright_python.__file__).with_name("axe.min.js").read_text()
    page.add_script_tag(content=script)
    result = page.evaluate(
        "async () => await axe.run(document, "
        "{runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})"
    )
    return [
        {"id": v["id"], "nodes": [n["target"] for n in v["nodes"]]} for v in result["violations"]
    ]


def test_a_spanish_client_answers_on_a_phone_with_crisis_lines_first(
    live_server: str, phone: Any
) -> None:
    from playwright.sync_api import expect

    page = phone
    page.goto(f"{live_server}/sign-in")
    page.get_by_label("Email").fill("rosa@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    page.goto(f"{live_server}/screening/intake")
    assert axe_violations(page) == []
    page.get_by_label("Sí, acepto responderlos y compartirlos con mi terapeuta").check()
    page.get_by_role("button", name="Continuar").click()

    # PHQ-9: one question per screen, in Spanish, answered with the keyboard.
    questions = page.locator("fieldset[data-step]")
    expect(questions).to_have_count(10)
    expect(page.locator("fieldset[data-step]:visible")).to_have_count(1)
    expect(page.get_by_role("group", name="Poco interés o placer en hacer cosas")).to_be_visible()
    assert axe_violations(page) == []
    for number in range(1, 10):
        group = page.locator(f"#item-{number}")
        expect(group).to_be_visible()
        answer = "Varios días" if number == 9 else "Ningún día"
        radio = group.get_by_role("radio", name=answer)
        radio.focus()
        page.keyboard.press("Space")
        expect(radio).to_be_checked()
        page.get_by_role("button", name="Siguiente pregunta").click()
    difficulty = page.locator("#difficulty")
    expect(difficulty).to_be_visible()
    expect(difficulty).to_be_focused()
    difficulty.get_by_role("radio", name="Un poco difícil").check()
    page.get_by_role("button", name="Enviar mis respuestas").click()

    # The result leads with the crisis lines and never diagnoses.
    crisis = page.locator(".crisis-lead")
    expect(crisis).to_be_visible()
    expect(crisis).to_contain_text("988")
    expect(crisis).to_contain_text("marque 2")
    box = crisis.bounding_box()
    heading = page.get_by_role("heading", level=1).bounding_box()
    assert box is not None and heading is not None and box["y"] < heading["y"]
    expect(page.get_by_text("Esta plataforma nunca hace diagnósticos.")).to_be_visible()
    assert axe_violations(page) == []

    # GAD-7, then the history with its chart and table.
    page.get_by_role("link", name="Continuar con el último cuestionario").click()
    for number in range(1, 8):
        page.locator(f"#item-{number}").get_by_role("radio", name="Varios días").check()
        page.get_by_role("button", name="Siguiente pregunta").click()
    page.get_by_role("button", name="Enviar mis respuestas").click()
    expect(page.locator(".crisis-lead")).to_have_count(0)
    page.get_by_role("link", name="Ver mi historial").click()
    expect(
        page.get_by_role("img", name="Puntajes totales del GAD-7 a lo largo del tiempo")
    ).to_be_visible()
    expect(page.get_by_role("table", name="Resultados del GAD-7")).to_contain_text("7")
    assert axe_violations(page) == []


def test_without_javascript_every_question_shows_on_one_page(live_server: str, phone: Any) -> None:
    from playwright.sync_api import expect

    page = phone
    page.context.route("**/*.js", lambda route: route.abort())
    page.goto(f"{live_server}/sign-in")
    page.get_by_label("Email").fill("rosa@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"{live_server}/screening/answer/gad7")
    expect(page.locator("fieldset[data-step]:visible")).to_have_count(8)
    page.get_by_role("button", name="Enviar mis respuestas").click()
    expect(page.locator(".error-summary")).to_contain_text(
        "Elija una respuesta para la pregunta 1."
    )
    expect(page.locator("#item-1-error")).to_be_visible()
