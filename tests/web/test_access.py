"""Each role reaches only its own pages and data; roles are enforced in one place."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask


@pytest.mark.parametrize(
    "role,path,expected",
    [
        ("client", "/admin/", 403),
        ("therapist", "/admin/", 403),
        ("admin", "/admin/", 200),
        ("client", "/account", 200),
        ("therapist", "/account", 200),
        ("admin", "/account", 200),
    ],
)
def test_role_reaches_only_its_pages(
    login: Any, make_user: Any, role: str, path: str, expected: int
) -> None:
    client = login(make_user(role))
    assert client.get(path).status_code == expected


@pytest.mark.parametrize("path", ["/admin/", "/account"])
def test_anonymous_visitor_is_sent_to_sign_in(client: Any, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 302
    assert "/sign-in?next=" in response.headers["Location"]


def test_every_non_public_view_declares_its_roles(app: Flask) -> None:
    framework = {"static", "api-docs.openapi_json"}
    undeclared = [
        endpoint
        for endpoint, view in app.view_functions.items()
        if endpoint not in framework
        and not hasattr(view, "_required_roles")
        and not getattr(view, "_is_public", False)
    ]
    assert undeclared == []


def test_admin_approves_a_pending_therapist(login: Any, make_user: Any, client: Any) -> None:
    from teletherapy.services.accounts.users import sign_up

    pending = sign_up(
        email="new.t@example.org",
        password="long-password-1",
        display_name="New T",
        role="therapist",
        time_zone="America/New_York",
        language="en",
    )
    from teletherapy.extensions import db
    from teletherapy.services.matching.profiles import get_profile

    profile = get_profile(pending.therapist_id)
    profile.license_type, profile.license_number, profile.license_state = "LCSW", "NY-77", "NY"
    profile.npi = "1234567893"
    db.session.commit()
    login(make_user("admin"))
    page = client.get("/admin/").get_data(as_text=True)
    assert "New T" in page
    # What an approval rests on: the licence, its states and the NPI.
    assert "LCSW NY-77 (NY)" in page and "1234567893" in page and "<dd>NY</dd>" in page
    assert client.post(f"/admin/therapists/{pending.id}/approve").status_code == 302
    client.post("/sign-out")
    response = client.post(
        "/sign-in", data={"email": "new.t@example.org", "password": "long-password-1"}
    )
    assert response.status_code == 302


def test_admin_creates_a_therapist_account(login: Any, make_user: Any) -> None:
    client = login(make_user("admin"))
    client.post(
        "/admin/users",
        data={
            "display_name": "Dr Q",
            "email": "q@example.org",
            "password": "long-password-1",
            "role": "therapist",
        },
    )
    assert "q@example.org" in client.get("/admin/").get_data(as_text=True)
