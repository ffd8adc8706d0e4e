"""Security headers: CSP without inline code, framing, referrers, HSTS and private caching."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from teletherapy import create_app
from teletherapy.web.headers import allow_stripe, content_security_policy

TEMPLATES = Path(__file__).parents[2] / "platform" / "teletherapy" / "templates"


def test_every_answer_has_a_strict_policy(client: FlaskClient) -> None:
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "'unsafe-inline'" not in csp and "unsafe-eval" not in csp
    assert "script-src 'self';" in csp and "style-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp and "stripe" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "camera=()" in response.headers["Permissions-Policy"]
    assert response.headers["Referrer-Policy"] == "strict-origin"
    assert "Strict-Transport-Security" not in response.headers
    assert "no-store" not in response.headers.get("Cache-Control", "")


def test_api_answers_carry_the_headers_too(client: FlaskClient) -> None:
    response = client.get("/api/v1/vocabularies")
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_pages_with_a_token_in_the_address_send_no_referrer(client: FlaskClient) -> None:
    for path in ("/reset-password/some-secret-token", "/feeds/some-secret-token.ics"):
        response = client.get(path)
        assert response.headers["Referrer-Policy"] == "no-referrer", path
        assert "no-store" in response.headers.get("Cache-Control", "") or path.startswith("/feeds")


def test_private_pages_are_never_stored(login: Any, make_user: Any) -> None:
    client = login(make_user())
    for path in ("/account", "/sessions"):
        response = client.get(path)
        assert response.headers["Cache-Control"] == "no-store", path
        assert "Cookie" in response.headers["Vary"]


def test_api_answers_to_a_token_are_never_stored(
    client: FlaskClient, make_user: Any, api_token: Any
) -> None:
    response = client.get("/api/v1/me", headers=api_token(make_user()))
    assert response.headers["Cache-Control"] == "no-store"


def test_stripe_is_allowed_only_where_a_page_pays(app: Flask) -> None:
    with app.test_request_context("/payments/bookings/1/pay"):
        assert "stripe" not in content_security_policy()
        allow_stripe("https://js.stripe.com/v3/")
        csp = content_security_policy()
    assert "script-src 'self' https://js.stripe.com" in csp
    assert "frame-src https://js.stripe.com https://hooks.stripe.com" in csp
    assert "connect-src 'self' https://api.stripe.com" in csp


def test_production_sends_hsts(tmp_path: Path) -> None:
    app = create_app(
        {
            "ENV": "production",
            "SECRET_KEY": "s" * 40,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'p.db'}",
            "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/5",
            "RATELIMIT_ENABLED": False,
        },
        instance_path=tmp_path,
    )
    response = app.test_client().get("/sign-in")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_no_template_has_inline_script_style_or_handlers() -> None:
    inline = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|<style|\sstyle=\"|\son[a-z]+=\"", re.I)
    offenders = [
        f"{path.relative_to(TEMPLATES)}: {match.group()}"
        for path in TEMPLATES.rglob("*.html")
        if path.parts[-2] != "email"  # mail clients, not browsers under our policy
        for match in inline.finditer(path.read_text())
    ]
    assert offenders == []
