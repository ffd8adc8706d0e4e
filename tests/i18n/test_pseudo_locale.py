"""No string escapes translation: with a pseudo-locale that wraps every translation in
⟦…⟧, every page (each role) and every email shows no visible text outside the marks
except data (names, numbers, addresses, times, codes)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from teletherapy.models import OutboxMessage, Role, User
from tests.booking_setup import set_availability
from tests.conftest import PASSWORD
from tests.i18n.pseudo import PSEUDO, babel_words, extract, unmarked, visible_texts
from tests.i18n.pseudo import write_pseudo_catalog as write_catalog

NOW = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)
START = datetime(2026, 12, 3, 15, 0, tzinfo=UTC)  # Thursday 10:00 in New York
# Text people typed or that names things: data, not interface text.
DATA_WORDS = {
    w.lower()
    for w in [
        "Teletherapy",
        "Ana",
        "Rivera",
        "Luz",
        "Gómez",
        "Admin",
        "Root",
        "Grief",
        "circle",
        "Mindful",
        "LCSW",
        "PDF",
        "English",
        "Español",
        "PHQ-9",  # the questionnaires' names
        "GAD-7",
    ]
}
SKIPPED_PREFIXES = ("/api/", "/feeds/", "/webhooks/", "/static/", "/healthz")


@pytest.fixture(scope="session")
def pseudo_catalogs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("pseudo")
    return write_catalog(extract(folder), folder / "translations")


@pytest.fixture
def app_config(pseudo_catalogs: Path) -> dict[str, Any]:
    return {
        "LANGUAGES": ["en", "es", PSEUDO],
        "TRANSLATION_DIRECTORIES": [str(pseudo_catalogs)],
    }


@pytest.fixture
def world(app: Flask, db: Any, make_user: Any) -> dict[str, Any]:
    """One of everything a page can show: people of each role, a booking, a group."""
    from teletherapy.services import bookings, groups
    from teletherapy.services.screening import submit

    therapist = make_user("therapist", display_name="Ana Rivera")
    client = make_user("client", display_name="Luz Gómez")
    admin = make_user("admin", display_name="Admin Root")
    for person in (therapist, client, admin):
        person.language = PSEUDO  # the interface language of everyone here
    db.session.commit()
    tid = set_availability(therapist)
    booking = bookings.book_session(
        client_id=client.id, therapist_id=tid, start=START, setting="online", now=NOW
    )
    group = groups.create_group(
        therapist_user_id=therapist.id,
        title="Grief circle",
        modality="group",
        setting="online",
        capacity=6,
        fee_cents=2000,
        first_start=START + timedelta(days=7),
        duration_minutes=90,
        weekly_count=4,
        now=NOW,
    )
    # A PHQ-9 with the self-harm item above 0: a result, a crisis lead and an open alert.
    screening = submit.submit_screening(
        client_id=client.id,
        instrument="phq9",
        answers=[1, 2, 1, 0, 2, 1, 0, 1, 1],
        difficulty=1,
        language="en",  # the questionnaire's own wording (data, marked translate="no")
        now=NOW,
    )
    return {
        "therapist": therapist,
        "client": client,
        "admin": admin,
        "therapist_id": tid,
        "booking_id": booking.first.id,
        "group_id": group.id,
        "payment_id": 1,
        "token": "no-such-token",
        "instrument": "phq9",
        "client_id": client.id,
        "screening_id": screening.screening.id,
    }


def _urls(app: Flask, world: dict[str, Any]) -> Iterator[str]:
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or set()) or rule.rule.startswith(SKIPPED_PREFIXES):
            continue
        # Files; the equity CSV is in English on purpose (tests/web/equity checks it).
        if rule.rule.endswith((".ics", ".pdf", ".json", ".csv")):
            continue
        try:
            values = {name: world[name] for name in rule.arguments}
        except KeyError:  # pragma: no cover - a new kind of argument: add it to `world`
            pytest.fail(f"no value for the arguments of {rule.rule}")
        yield rule.build(values, append_unknown=False)[1]
    start = START.isoformat().replace("+00:00", "Z")
    yield f"/therapists/{world['therapist_id']}/book/confirm?start={start}&setting=online"
    yield "/practice/sessions?view=week&date=2026-12-03"
    yield "/practice/sessions?view=day&date=2026-12-03"


def _problems(html: str) -> list[str]:
    return unmarked(visible_texts(html), DATA_WORDS | babel_words())


def _dump(name: str, found: dict[str, list[str]]) -> None:
    """PSEUDO_DUMP=folder writes what was found, to fix it (the assertion shows a summary)."""
    folder = os.environ.get("PSEUDO_DUMP")
    if folder and found:
        Path(folder, f"{name}.json").write_text(json.dumps(found, indent=1, ensure_ascii=False))


@pytest.mark.parametrize("role", [None, "client", "therapist", "admin"])
def test_every_page_is_translated_for_every_role(
    app: Flask, world: dict[str, Any], role: str | None
) -> None:
    client = app.test_client()
    if role is not None:
        person: User = world[role]
        response = client.post("/sign-in", data={"email": person.email, "password": PASSWORD})
        assert response.status_code == 302
    found: dict[str, list[str]] = {}
    headers = {"Accept-Language": PSEUDO}
    for url in sorted(set(_urls(app, world))):
        response = client.get(url, headers=headers)
        if response.status_code in (301, 302, 303) or response.mimetype != "text/html":
            continue
        html = response.get_data(as_text=True)
        assert f'<html lang="{PSEUDO}"' in html, url
        problems = _problems(html)
        if problems:
            found[url] = problems
    if role == "client":
        response = client.post(
            "/find",
            data={"setting": "online", "state": "NY", "zip": "10027", "fee_band": "b"},
            headers=headers,
        )
        problems = _problems(response.get_data(as_text=True))
        if problems:
            found["POST /find"] = problems
        # The form errors of the screening pages (nothing chosen).
        for url in ("/screening/intake", "/screening/answer/phq9"):
            response = client.post(url, data={}, headers=headers)
            assert response.status_code == 422, url
            problems = _problems(response.get_data(as_text=True))
            if problems:
                found[f"POST {url}"] = problems
    _dump(f"pages-{role}", found)
    assert found == {}


def test_every_email_is_translated(app: Flask, db: Any, world: dict[str, Any]) -> None:
    from teletherapy.services import bookings
    from teletherapy.services.accounts import users

    bookings.cancel_booking(booking_id=world["booking_id"], actor_id=world["therapist"].id, now=NOW)
    users.request_password_reset(email=world["client"].email, now=NOW, max_age_seconds=3600)
    rows = list(db.session.scalars(select(OutboxMessage)))
    kinds = {row.kind for row in rows}
    assert {"booking_confirmed", "booking_cancelled", "reminder", "password_reset"} <= kinds
    found = {}
    for row in rows:
        texts = [row.subject, *row.body_text.splitlines()]
        if row.body_html:
            texts += visible_texts(row.body_html)
        problems = unmarked([t for t in texts if t.strip()], DATA_WORDS | babel_words())
        if problems:
            found[f"{row.kind} to {row.to_address}"] = problems
    _dump("emails", found)
    assert found == {}
    assert Role  # the roles above are the model's
