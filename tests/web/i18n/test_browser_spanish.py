"""Chromium in Spanish: sign up with the switch on Español, find a therapist, book, confirm
and cancel; a therapist switches to Spanish and edits availability. Every page says
lang="es", holds no English sentence and is axe-clean."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.booking_setup import set_availability
from tests.browser import PASSWORD, axe_violations, browser_app, chromium, serve

pytestmark = pytest.mark.browser

# Words that give an English sentence away (none is a Spanish word).
ENGLISH = {
    "the", "and", "your", "you", "is", "are", "of", "with", "this", "please", "session",
    "sessions", "for", "be", "will", "have", "not", "book", "find", "there", "what",
}  # fmt: skip


@pytest.fixture
def live_server(sqlite_template: Path, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """The app on 127.0.0.1 with one English-speaking therapist open every day."""
    from teletherapy.services.accounts.users import create_user

    app = browser_app(sqlite_template, tmp_path, VIDEO_BASE_URL="https://meet.example.org")
    with app.app_context():
        therapist = create_user(
            email="ana@example.org",
            password=PASSWORD,
            role="therapist",
            display_name="Dra. Ana Ruiz",
            language="en",
        )
        therapist_id = set_availability(
            therapist, rules=[(day, "08:00", "20:00", "online") for day in range(7)]
        )
    with serve(app) as url:
        yield {"url": url, "therapist_id": therapist_id}


@pytest.fixture
def browser() -> Iterator[Any]:
    with chromium() as browser:
        yield browser


def english_lines(text: str) -> list[str]:
    """Lines that read as English: two or more words that only English uses."""
    found = []
    for line in text.splitlines():
        words = re.findall(r"[a-z']+", line.lower())
        if sum(word in ENGLISH for word in words) >= 2:
            found.append(line)
    return found


def check_page(page: Any, seen: list[str]) -> None:
    """lang="es", no English sentence, no axe violation (WCAG 2 A and AA)."""
    assert page.locator("html").get_attribute("lang") == "es", page.url
    body = page.locator("body").inner_text()
    assert english_lines(body) == [], page.url
    assert axe_violations(page, ["wcag2a", "wcag2aa"]) == [], page.url
    seen.append(page.url)


def test_a_client_signs_up_finds_books_and_cancels_in_spanish(
    live_server: dict[str, Any], browser: Any
) -> None:
    from playwright.sync_api import expect

    base = live_server["url"]
    # bypass_csp: axe-core is injected as an inline script, which the site's policy refuses
    # (tests/web/test_csp_browser.py walks every page under the real policy).
    context = browser.new_context(locale="en-US", bypass_csp=True)
    context.set_default_timeout(15_000)
    page = context.new_page()
    seen: list[str] = []

    page.goto(base)
    assert page.locator("html").get_attribute("lang") == "en"
    page.get_by_role("button", name="Español").click()
    check_page(page, seen)

    page.get_by_role("link", name="Crear cuenta").click()
    check_page(page, seen)
    page.get_by_label("Su nombre").fill("Luz Gómez")
    page.get_by_label("Correo electrónico").fill("luz@example.org")
    page.get_by_label("Contraseña (al menos 12 caracteres)").fill(PASSWORD)
    expect(page.get_by_label("Idioma preferido")).to_have_value("es")
    page.get_by_role("button", name="Crear cuenta").click()
    # The same answer whether or not the address had an account: sign in next.
    expect(page.locator(".flash-success")).to_contain_text("Enviamos un correo a esa dirección")
    check_page(page, seen)
    page.get_by_label("Correo electrónico").fill("luz@example.org")
    page.get_by_label("Contraseña").fill(PASSWORD)
    page.get_by_role("button", name="Iniciar sesión").click()
    page.wait_for_url(lambda url: "/sign-in" not in url)
    check_page(page, seen)

    page.get_by_role("navigation", name="Principal").get_by_role(
        "link", name="Buscar terapeuta"
    ).click()
    check_page(page, seen)
    page.get_by_label("Su estado").select_option("NY")
    page.get_by_label("Su código postal").fill("10027")
    page.get_by_role("button", name="Mostrar terapeutas").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("1 terapeuta que puede atenderle")
    check_page(page, seen)

    page.get_by_role("link", name=re.compile("^Ver perfil y horarios")).click()
    check_page(page, seen)
    page.get_by_role("link", name="Ver horarios disponibles y reservar").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Reservar una sesión con Dra. Ana Ruiz"
    )
    check_page(page, seen)
    # The picker opens on the first day with openings, its times beside the month.
    page.locator(".time-list a.slot").first.click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Confirme su sesión")
    check_page(page, seen)
    page.get_by_role("button", name="Confirmar la reserva").click()
    expect(page.locator("#status")).to_have_text("confirmada")
    check_page(page, seen)

    page.get_by_role("link", name="Cancelar", exact=True).click()
    check_page(page, seen)
    page.get_by_role("button", name="Cancelar la sesión").click()
    expect(page.locator("#status")).to_contain_text("cancelada por el cliente")
    check_page(page, seen)
    context.close()
    assert len(seen) == 12  # the sign-in page after sign-up included


def test_a_therapist_switches_to_spanish_and_edits_availability(
    live_server: dict[str, Any], browser: Any
) -> None:
    from playwright.sync_api import expect

    base = live_server["url"]
    context = browser.new_context(bypass_csp=True)  # axe-core is injected inline
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto(f"{base}/sign-in")
    page.get_by_label("Email").fill("ana@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="Español").click()  # signed in: her own language changes
    page.goto(f"{base}/practice/availability")
    expect(page.get_by_role("heading", level=1)).to_have_text("Mi disponibilidad")
    seen: list[str] = []
    check_page(page, seen)
    page.get_by_role("button", name="Guardar la disponibilidad").click()
    expect(page.locator(".flash-success")).to_contain_text("Se guardó su disponibilidad")
    check_page(page, seen)
    context.close()
