"""Every route x anonymous / client / other client / therapist / other therapist / admin.

Generated from app.url_map, so a new route is in the matrix the day it is added. Each
cell must hold: never a 5xx; no signed-out access to a non-public view; a role a view
does not declare is refused; and nobody reaches a session they are not party to.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from teletherapy.clock import utcnow
from teletherapy.extensions import db
from tests.booking_setup import set_availability
from tests.browser import browser_app
from tests.conftest import PASSWORD
from tests.payment_fakes import add_booking

pytestmark = pytest.mark.slow

PEOPLE = {
    "client": ("client", "a.client@example.org"),
    "other_client": ("client", "b.client@example.org"),
    "therapist": ("therapist", "t.therapist@example.org"),
    "other_therapist": ("therapist", "u.therapist@example.org"),
    "admin": ("admin", "root@example.org"),
}
ROLES = ["anonymous", *PEOPLE]
SKIPPED = ("static", "api-docs.openapi_json", "payments.stripe_webhook")


@pytest.fixture(scope="module")
def world(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from teletherapy.services.accounts.users import create_user

    folder = tmp_path_factory.mktemp("matrix")
    app = browser_app(
        sqlite_template,
        folder,
        SECRET_KEY="matrix-secret",
        WTF_CSRF_ENABLED=False,
        PUBLIC_URL="http://testserver",
    )
    with app.app_context():
        users = {
            name: create_user(email=email, password=PASSWORD, role=role, state="NY", zip="10027")
            for name, (role, email) in PEOPLE.items()
        }
        therapist_id = set_availability(users["therapist"], rules=[(0, "09:00", "17:00", "online")])
        booking = add_booking(
            users["therapist"],
            users["client"],
            start=utcnow() + timedelta(days=3),
            status="confirmed",
        )
        ids = {
            "booking_id": booking.id,
            "therapist_id": therapist_id,
            "client_id": users["client"].id,
            "user_id": users["client"].id,
        }
        yield app, users, ids
        db.session.remove()
        db.engine.dispose()


def _clients(app: Flask, users: dict[str, Any]) -> dict[str, tuple[FlaskClient, dict[str, str]]]:
    clients: dict[str, tuple[FlaskClient, dict[str, str]]] = {"anonymous": (app.test_client(), {})}
    for name, user in users.items():
        client = app.test_client()
        assert (
            client.post("/sign-in", data={"email": user.email, "password": PASSWORD}).status_code
            == 302
        )
        token = client.post("/api/v1/tokens", json={"email": user.email, "password": PASSWORD})
        clients[name] = (client, {"Authorization": f"Bearer {token.get_json()['token']}"})
    return clients


def _build(rule: Any, values: dict[str, Any]) -> str:
    path = str(rule.rule)
    for arg, value in values.items():
        for converter in ("int:", "path:", ""):
            path = path.replace(f"<{converter}{arg}>", str(value))
    return path


def test_every_route_for_every_role(world: Any) -> None:
    app, users, ids = world
    clients = _clients(app, users)
    problems: list[str] = []
    cells = 0
    for rule in app.url_map.iter_rules():
        if rule.endpoint in SKIPPED:
            continue
        view = app.view_functions[rule.endpoint]
        required = getattr(view, "_required_roles", None)
        url = _build(rule, {a: ids.get(a, 1) for a in rule.arguments} | _named(rule, ids))
        is_api = url.startswith("/api/")
        methods = ["GET"] if "GET" in (rule.methods or ()) else []
        if "booking_id" in rule.arguments:
            methods += [m for m in ("POST", "PUT", "DELETE") if m in (rule.methods or ())]
        for method in methods:
            for role in ROLES:
                if method != "GET" and role not in ("anonymous", "other_client", "other_therapist"):
                    continue  # changes are tried only by people who must be refused
                client, headers = clients[role]
                # A plausible body, so a refusal is about the session, not a missing field.
                body: dict[str, Any] = (
                    ({"json": {}} if is_api else {"data": {"status": "completed"}})
                    if method != "GET"
                    else {}
                )
                response = client.open(
                    url, method=method, headers=headers if is_api else {}, **body
                )
                status = response.status_code
                cells += 1
                cell = f"{method} {url} as {role}: {status}"
                if status >= 500:
                    problems.append(cell)
                elif required is not None and role == "anonymous" and status not in (302, 401):
                    problems.append(cell + " (signed out)")
                elif (
                    required is not None
                    and role != "anonymous"
                    and PEOPLE[role][0] not in required
                    and status != 403
                ):
                    problems.append(cell + " (role not allowed)")
                elif (
                    "booking_id" in rule.arguments
                    and role in ("other_client", "other_therapist")
                    and status < 400
                ):
                    problems.append(cell + " (not party to the session)")
    assert cells > 300
    assert problems == []


def _named(rule: Any, ids: dict[str, int]) -> dict[str, Any]:
    named: dict[str, Any] = {}
    if "instrument" in rule.arguments:
        named["instrument"] = "phq9"
    if "token" in rule.arguments:
        named["token"] = "no-such-token"
    return named
