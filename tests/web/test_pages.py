"""Pages for a real user: home, sign-up, sign-in/out, reset by email, settings, footer."""

from __future__ import annotations

from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from teletherapy.jobs.tasks import sweep_outbox
from tests.conftest import PASSWORD


def test_home_leads_clients_and_therapists_and_shows_crisis_lines(client: FlaskClient) -> None:
    html = client.get("/").get_data(as_text=True)
    assert "Find a therapist" in html and "Manage my practice" in html
    for line in ("988", "1-800-662-4357", "911"):
        assert line in html
    assert 'href="#main"' in html and "<main" in html


def _sign_up(client: FlaskClient, email: str, name: str = "Rosa") -> Any:
    return client.post(
        "/sign-up",
        data={
            "display_name": name,
            "email": email,
            "password": PASSWORD,
            "role": "client",
            "time_zone": "America/Chicago",
            "language": "es",
        },
    )


def test_sign_up_creates_the_account_and_sends_to_sign_in(client: FlaskClient) -> None:
    response = _sign_up(client, "rosa@example.org")
    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]
    assert (
        client.post(
            "/sign-in", data={"email": "rosa@example.org", "password": PASSWORD}
        ).status_code
        == 302
    )
    assert "Rosa" in client.get("/account").get_data(as_text=True)


def test_sign_up_does_not_reveal_whether_an_email_has_an_account(
    app: Flask, client: FlaskClient, make_user: Any
) -> None:
    make_user(email="taken@example.org")
    taken = _sign_up(client, "TAKEN@example.org", name="X")
    taken_page = client.get(taken.headers["Location"]).get_data(as_text=True)
    new = _sign_up(client, "new@example.org", name="X")
    new_page = client.get(new.headers["Location"]).get_data(as_text=True)
    assert taken.status_code == new.status_code == 302
    assert taken.headers["Location"] == new.headers["Location"]
    assert taken_page == new_page
    sweep_outbox(app, "test")
    mails = [
        message_from_bytes(p.read_bytes(), policy=policy.default)
        for p in (Path(app.instance_path) / "outbox").glob("*.eml")
    ]
    owner = next(m for m in mails if m["To"] == "taken@example.org")
    text = next(p for p in owner.walk() if p.get_content_type() == "text/plain").get_content()
    assert "already has one" in text


def test_sign_up_explains_and_applies_the_password_rule(client: FlaskClient) -> None:
    page = client.get("/sign-up").get_data(as_text=True)
    assert "at least 12 characters" in page and "Common passwords" in page
    for password, message in [
        ("short-pass", "at least 12"),
        ("password1234", "common password"),
        ("rosa-garden-party", "your email address or your name"),
    ]:
        response = client.post(
            "/sign-up",
            data={
                "display_name": "Rosa Parks",
                "email": "rosa@example.org",
                "password": password,
                "role": "client",
                "time_zone": "America/Chicago",
                "language": "en",
            },
        )
        assert response.status_code == 422
        assert message in response.get_data(as_text=True)


def test_sign_in_failure_does_not_reveal_whether_the_email_exists(
    client: FlaskClient, make_user: Any
) -> None:
    user = make_user()
    wrong = client.post("/sign-in", data={"email": user.email, "password": "wrong-password"})
    unknown = client.post("/sign-in", data={"email": "no@example.org", "password": "wrong-pass"})
    assert wrong.status_code == unknown.status_code == 422
    assert "Email or password is incorrect." in wrong.get_data(as_text=True)
    assert "Email or password is incorrect." in unknown.get_data(as_text=True)


def test_sign_out_ends_the_session(login: Any, make_user: Any) -> None:
    client = login(make_user())
    assert client.get("/account").status_code == 200
    client.post("/sign-out")
    assert client.get("/account").status_code == 302


def test_password_reset_by_emailed_link_end_to_end(
    app: Flask, client: FlaskClient, make_user: Any
) -> None:
    user = make_user()
    client.post("/reset-password", data={"email": user.email})
    sweep_outbox(app, "test")
    [eml] = list((Path(app.instance_path) / "outbox").glob("*.eml"))
    mail = message_from_bytes(eml.read_bytes(), policy=policy.default)
    assert mail["To"] == user.email
    text = next(p for p in mail.walk() if p.get_content_type() == "text/plain").get_content()
    link = next(w for w in text.split() if "/reset-password/" in w)
    path = link.replace("http://testserver", "")
    response = client.post(
        path, data={"password": "brand-new-pass-1", "confirm": "brand-new-pass-1"}
    )
    assert response.status_code == 302
    again = client.post(path, data={"password": "brand-new-pass-2", "confirm": "brand-new-pass-2"})
    assert "invalid or has expired" in again.get_data(as_text=True)
    signed_in = client.post("/sign-in", data={"email": user.email, "password": "brand-new-pass-1"})
    assert signed_in.status_code == 302


def test_settings_change_name_zone_and_language(login: Any, make_user: Any) -> None:
    client = login(make_user())
    response = client.post(
        "/account",
        data={
            "display_name": "New Name",
            "time_zone": "Asia/Kolkata",
            "language": "hi",
            "state": "NY",
            "zip": "10027",
        },
    )
    assert response.status_code == 302
    html = client.get("/account").get_data(as_text=True)
    assert "New Name" in html and "Asia/Kolkata" in html


def test_settings_offer_zones_by_name_and_keep_a_persons_own(login: Any, make_user: Any) -> None:
    client = login(make_user(time_zone="America/Detroit"))
    html = client.get("/account").get_data(as_text=True)
    assert "Time zone (IANA" not in html
    assert '<option selected value="America/Detroit">Eastern Time (Detroit)</option>' in html
    assert '<option value="America/Chicago">Central Time (Chicago)</option>' in html


def test_settings_refuse_an_unknown_zone_next_to_the_field(login: Any, make_user: Any) -> None:
    client = login(make_user())
    response = client.post(
        "/account",
        data={
            "display_name": "N",
            "time_zone": "Mars/Base",
            "language": "en",
            "state": "",
            "zip": "",
        },
    )
    assert response.status_code == 422
    assert 'id="time_zone-error"' in response.get_data(as_text=True)


def test_session_cookie_is_httponly_and_lax(client: FlaskClient, make_user: Any) -> None:
    user = make_user()
    response = client.post("/sign-in", data={"email": user.email, "password": PASSWORD})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_healthz_checks_the_database(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json()["database"] == "ok"


def test_unknown_page_is_a_friendly_404(client: FlaskClient) -> None:
    response = client.get("/nowhere")
    assert response.status_code == 404 and "988" in response.get_data(as_text=True)


def test_demo_accounts_sign_in_through_the_page(app: Flask, client: FlaskClient) -> None:
    app.test_cli_runner().invoke(args=["seed-demo", "--therapists", "2", "--clients", "2"])
    for email in ("client1@demo.test", "therapist1@demo.test", "admin@demo.test"):
        response = client.post("/sign-in", data={"email": email, "password": "demo-pass-123"})
        assert response.status_code == 302, email
        client.post("/sign-out")


def test_sign_up_accepts_the_addresses_sign_in_accepts(client: FlaskClient) -> None:
    response = client.post(
        "/sign-up",
        data={
            "display_name": "Demo Person",
            "email": "someone@demo.test",
            "password": "a long password",
            "role": "client",
            "time_zone": "America/New_York",
            "language": "en",
        },
    )
    assert response.status_code == 302
    client.post("/sign-out")
    signed_in = client.post(
        "/sign-in", data={"email": "someone@demo.test", "password": "a long password"}
    )
    assert signed_in.status_code == 302


def test_every_page_has_a_favicon_and_a_crisis_link_in_the_header(client: FlaskClient) -> None:
    page = client.get("/").get_data(as_text=True)
    assert 'rel="icon" href="/static/img/favicon.svg"' in page
    header = page.split("</header>")[0]
    assert 'class="crisis-link" href="#crisis"' in header and "Need help now?" in header
    assert 'id="crisis"' in page
    assert client.get("/static/img/favicon.svg").status_code == 200


def test_the_404_page_is_in_the_sites_style_with_a_way_back(client: FlaskClient) -> None:
    response = client.get("/no-such-page")
    page = response.get_data(as_text=True)
    assert response.status_code == 404
    assert 'class="card error-page"' in page and 'href="/"' in page and 'href="/find"' in page
    assert "site-header" in page


def test_public_url_follows_port_unless_it_is_set(monkeypatch: Any, tmp_path: Any) -> None:
    from teletherapy import create_app

    config = {"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": "sqlite://"}
    monkeypatch.setenv("PORT", "8080")
    monkeypatch.delenv("TELETHERAPY_PUBLIC_URL", raising=False)
    app = create_app(config, instance_path=tmp_path)
    assert app.config["PUBLIC_URL"] == "http://127.0.0.1:8080"
    monkeypatch.setenv("TELETHERAPY_PUBLIC_URL", "https://therapy.example.org")
    app = create_app(config, instance_path=tmp_path)
    assert app.config["PUBLIC_URL"] == "https://therapy.example.org"
