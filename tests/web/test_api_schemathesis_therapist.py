"""schemathesis over /api/v1/openapi.json as a therapist (test_api_schemathesis.py has the
client and the fixtures; each module gets its own app)."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis

from tests.web.test_api_schemathesis import (  # noqa: F401  (fixtures used by name)
    SETTINGS,
    api_schema,
    excluded,
    schema_app,
    tokens,
)

pytestmark = pytest.mark.slow

schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@SETTINGS
def test_the_api_answers_a_therapist_within_its_document(
    case: Any,
    tokens: dict[str, dict[str, str]],  # noqa: F811  (the fixture imported above)
) -> None:
    case.call_and_validate(headers=tokens["therapist"], excluded_checks=excluded(case))
