"""schemathesis over /api/v1/openapi.json: no 5xx and no answer outside the document.

Every operation, as a client here and as a therapist in test_api_schemathesis_therapist.py
(bearer tokens; two files, so that the suite's workers can run them side by side), a
bounded number of generated examples each, all of schemathesis' checks. One SQLite app
for each module, seeded with a therapist and a client, so ids can exist.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, settings

from teletherapy.extensions import db
from tests.browser import browser_app
from tests.conftest import PASSWORD

pytestmark = pytest.mark.slow

MAX_EXAMPLES = 6  # per operation and role: the whole file stays under 2 minutes


@pytest.fixture(scope="module")
def schema_app(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    folder = tmp_path_factory.mktemp("schemathesis")
    app = browser_app(
        sqlite_template,
        folder,
        SECRET_KEY="test-secret",
        WTF_CSRF_ENABLED=False,
        PUBLIC_URL="http://testserver",
    )
    with app.app_context():
        _seed()
        yield app
        db.session.remove()
        db.engine.dispose()


def _seed() -> None:
    from teletherapy.services.accounts.users import create_user

    create_user(email="t@example.org", password=PASSWORD, role="therapist")
    create_user(email="c@example.org", password=PASSWORD, state="NY", zip="10027")


@pytest.fixture(scope="module")
def tokens(schema_app: Flask) -> dict[str, dict[str, str]]:
    client = schema_app.test_client()
    headers = {}
    for role, email in (("client", "c@example.org"), ("therapist", "t@example.org")):
        response = client.post("/api/v1/tokens", json={"email": email, "password": PASSWORD})
        assert response.status_code == 201, response.get_data(as_text=True)
        headers[role] = {"Authorization": f"Bearer {response.get_json()['token']}"}
    return headers


@pytest.fixture(scope="module")
def api_schema(schema_app: Flask) -> Any:
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", schema_app)


schema = schemathesis.pytest.from_fixture("api_schema")


# Every check but one: positive_data_acceptance wants every schema-valid body accepted,
# and the API refuses on purpose, with a 422 problem, what a schema cannot say: an end
# before its start, overlapping hours, a first meeting in the past, a year outside
# 1900..2200.
EXCLUDED = [schemathesis.checks.positive_data_acceptance]
# The equity report answers 404 to everyone but administrators, signed in or not, so that
# it does not exist for them (web/equity/reading.require_admin): no 401 without a token.
HIDDEN_FROM_NON_ADMINS = {"/admin/equity"}


def excluded(case: Any) -> list[Any]:
    if case.operation.path.endswith(tuple(HIDDEN_FROM_NON_ADMINS)):
        return [*EXCLUDED, schemathesis.checks.missing_required_header]
    return EXCLUDED


SETTINGS = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)


@schema.parametrize()
@SETTINGS
def test_the_api_answers_a_client_within_its_document(
    case: Any, tokens: dict[str, dict[str, str]]
) -> None:
    case.call_and_validate(headers=tokens["client"], excluded_checks=excluded(case))
