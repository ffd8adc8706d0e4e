"""CSRF on every changing page, rate limits on sign-in and reset, secure cookies in production."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from teletherapy import create_app
from teletherapy.settings import ConfigurationError


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"WTF_CSRF_ENABLED": True, "RATELIMIT_ENABLED": True}


@pytest.mark.parametrize(
    "path", ["/sign-in", "/sign-up", "/reset-password", "/sign-out", "/account", "/admin/users"]
)
def test_posting_without_a_csrf_token_is_refused(client: FlaskClient, path: str) -> None:
    response = client.post(path, data={"email": "a@example.org", "password": "x" * 12})
    assert response.status_code == 400
    assert "form expired" in response.get_data(as_text=True)


def test_production_refuses_to_start_without_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    with pytest.raises(ConfigurationError, match="SECRET_KEY"):
        create_app({"ENV": "production"}, instance_path=tmp_path)


def test_production_cookies_are_secure(tmp_path: Path) -> None:
    app = create_app(
        {
            "ENV": "production",
            "SECRET_KEY": "s" * 40,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'p.db'}",
            "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/5",
        },
        instance_path=tmp_path,
    )
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_development_generates_a_secret_key_once(tmp_path: Path) -> None:
    first = create_app({"ENV": "development"}, instance_path=tmp_path)
    second = create_app({"ENV": "development"}, instance_path=tmp_path)
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"]
    assert len(first.config["SECRET_KEY"]) > 40
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


def test_environment_variables_override_instance_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "config.py").write_text(
        "MAIL_FROM = 'from-file@example.org'\nVIDEO_BASE_URL = 'https://file'\n"
    )
    monkeypatch.setenv("TELETHERAPY_VIDEO_BASE_URL", "https://env.example.org")
    monkeypatch.setenv("DATABASE_URL", "postgres://u@h/db")
    app = create_app({"ENV": "development"}, instance_path=tmp_path)
    assert app.config["MAIL_FROM"] == "from-file@example.org"
    assert app.config["VIDEO_BASE_URL"] == "https://env.example.org"
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@h/db"
