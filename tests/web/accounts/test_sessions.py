"""Sessions and tokens that really end; tokens that expire; the password rule; shared limits."""

from __future__ import annotations

import gc
import importlib.util
import logging
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from teletherapy import create_app
from teletherapy.services.accounts import users as accounts
from teletherapy.settings import ConfigurationError
from tests.conftest import PASSWORD

NEW_PASSWORD = "quiet-river-lantern-7"


def second_browser(app: Flask, user: Any) -> FlaskClient:
    other = app.test_client()
    response = other.post("/sign-in", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 302
    return other


def signed_in(client: FlaskClient) -> bool:
    return client.get("/account").status_code == 200


def test_a_copied_cookie_stops_working_after_sign_out(
    app: Flask, login: Any, make_user: Any
) -> None:
    client = login(make_user())
    copy = app.test_client()
    cookie = client.get_cookie("session")
    assert cookie is not None
    copy.set_cookie("session", cookie.value)
    assert signed_in(copy)
    client.post("/sign-out")
    assert not signed_in(copy)
    assert not signed_in(client)


def test_signing_out_one_browser_keeps_the_others(app: Flask, login: Any, make_user: Any) -> None:
    user = make_user()
    client = login(user)
    other = second_browser(app, user)
    client.post("/sign-out")
    assert signed_in(other)


def test_an_old_style_cookie_without_a_session_key_loads_nobody(app: Flask, make_user: Any) -> None:
    user = make_user()
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = str(user.id)
        session["_fresh"] = True
    assert not signed_in(client)


def test_changing_the_password_ends_every_session_and_token(
    app: Flask, client: FlaskClient, login: Any, make_user: Any, api_token: Any
) -> None:
    user = make_user()
    headers = api_token(user)
    other = second_browser(app, user)
    login(user)
    response = client.post(
        "/account/password",
        data={
            "current_password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD,
        },
    )
    assert response.status_code == 302
    assert not signed_in(other) and not signed_in(client)
    assert client.get("/api/v1/me", headers=headers).status_code == 401
    assert (
        client.post("/sign-in", data={"email": user.email, "password": NEW_PASSWORD}).status_code
        == 302
    )


def test_a_wrong_current_password_changes_nothing(login: Any, make_user: Any) -> None:
    client = login(make_user())
    response = client.post(
        "/account/password",
        data={"current_password": "not-my-password", "new_password": NEW_PASSWORD,
              "confirm": NEW_PASSWORD},
    )  # fmt: skip
    assert response.status_code == 422
    assert "current password is not right" in response.get_data(as_text=True)
    assert signed_in(client)


def test_a_password_reset_ends_every_session_and_token(
    app: Flask, client: FlaskClient, make_user: Any, api_token: Any, now: datetime
) -> None:
    user = make_user()
    headers = api_token(user)
    other = second_browser(app, user)
    accounts.request_password_reset(email=user.email, now=now, max_age_seconds=3600)
    from sqlalchemy import select

    from teletherapy.extensions import db
    from teletherapy.models import OutboxMessage

    message = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id.desc())).first()
    assert message is not None
    token = message.body_text.split("/reset-password/")[1].split()[0]
    accounts.reset_password(token=token, new_password=NEW_PASSWORD, now=now)
    assert not signed_in(other)
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_sign_out_everywhere_from_the_account_page(
    app: Flask, client: FlaskClient, login: Any, make_user: Any, api_token: Any
) -> None:
    user = make_user()
    headers = api_token(user)
    other = second_browser(app, user)
    login(user)
    assert "Sign out everywhere" in client.get("/account").get_data(as_text=True)
    assert client.post("/account/sign-out-everywhere").status_code == 302
    assert not signed_in(other) and not signed_in(client)
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_tokens_are_named_expire_after_90_days_and_record_last_use(
    client: FlaskClient, make_user: Any, now: datetime
) -> None:
    user = make_user()
    response = client.post(
        "/api/v1/tokens", json={"email": user.email, "password": PASSWORD, "name": "My script"}
    )
    body = response.get_json()
    assert response.status_code == 201 and body["name"] == "My script"
    expires = datetime.fromisoformat(body["expires_at"])
    assert timedelta(days=89) < expires - datetime.now(expires.tzinfo) <= timedelta(days=90)
    assert (
        client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['token']}"}).status_code
        == 200
    )
    [row] = accounts.list_api_tokens(user_id=user.id)
    assert row.label == "My script" and row.last_used_at is not None
    issued = accounts.issue_api_token(email=user.email, password=PASSWORD, now=now)
    assert accounts.find_user_for_token(issued.token, now=now + timedelta(days=89)) is not None
    assert accounts.find_user_for_token(issued.token, now=now + timedelta(days=90)) is None


def test_the_account_page_shows_when_each_token_expires(
    client: FlaskClient, login: Any, make_user: Any, api_token: Any
) -> None:
    user = make_user()
    api_token(user)
    html = login(user).get("/account").get_data(as_text=True)
    assert "Expires" in html and "expires after 90 days" in html


@pytest.mark.parametrize("app_config", [{"API_TOKEN_MAX_AGE_DAYS": 7}])
def test_the_token_lifetime_is_configurable(client: FlaskClient, make_user: Any) -> None:
    user = make_user()
    body = client.post("/api/v1/tokens", json={"email": user.email, "password": PASSWORD})
    expires = datetime.fromisoformat(body.get_json()["expires_at"])
    assert expires - datetime.now(expires.tzinfo) <= timedelta(days=7)


def test_production_refuses_to_start_with_rate_limits_in_memory(tmp_path: Path) -> None:
    config = {
        "ENV": "production",
        "SECRET_KEY": "s" * 40,
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'p.db'}",
    }
    with pytest.raises(ConfigurationError, match="RATELIMIT_STORAGE_URI"):
        create_app(config, instance_path=tmp_path)
    app = create_app(
        {**config, "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/5"}, instance_path=tmp_path
    )
    assert app.config["RATELIMIT_STORAGE_URI"].startswith("redis://")


ROOT = Path(__file__).parents[3]


@pytest.fixture(autouse=True)
def _unfrozen() -> Iterator[None]:
    """post_worker_init freezes what the process holds (app.warm_up): run here, in the test
    process, that would keep every object of the tests so far alive to its end."""
    yield
    gc.unfreeze()


def _gunicorn_config() -> Any:
    path = ROOT / "gunicorn.conf.py"
    spec = importlib.util.spec_from_file_location("gunicorn_conf", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    "workers,store,warned",
    [(4, "memory://", True), (1, "memory://", False), (4, "redis://127.0.0.1:6379/5", False)],
)
def test_several_workers_with_limits_in_memory_say_so(
    app: Flask, workers: int, store: str, warned: bool, caplog: pytest.LogCaptureFixture
) -> None:
    app.config.update(RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI=store)
    logger = logging.getLogger("test.gunicorn")
    worker = SimpleNamespace(wsgi=app, cfg=SimpleNamespace(workers=workers), log=logger)
    with caplog.at_level(logging.WARNING, logger="test.gunicorn"):
        _gunicorn_config().post_worker_init(worker)
    assert ("each counts alone" in caplog.text) is warned


def test_a_gunicorn_worker_compiles_the_email_templates_before_it_serves(app: Flask) -> None:
    """A process's first booking compiled the notices' templates while a client waited."""
    names = app.jinja_env.list_templates(filter_func=lambda n: n.startswith("email/"))
    assert "email/session_notice.html" in names
    app.jinja_env.cache.clear()  # type: ignore[union-attr]
    worker = SimpleNamespace(
        wsgi=app, cfg=SimpleNamespace(workers=1), log=logging.getLogger("test.gunicorn")
    )
    _gunicorn_config().post_worker_init(worker)
    loaded = {key[1] for key in app.jinja_env.cache}  # type: ignore[union-attr]
    assert set(names) <= loaded


def test_a_gunicorn_worker_sets_up_the_models_mappers_before_it_serves(tmp_path: Any) -> None:
    """The first ORM query of a process configured every mapper (~40 ms) while a client
    waited. In a fresh interpreter: nothing but post_worker_init has used the models."""
    import subprocess
    import sys

    script = f"""
import logging, sys
from types import SimpleNamespace
sys.path[:0] = {[str(ROOT), str(ROOT / "platform")]!r}
from teletherapy import create_app
from teletherapy.extensions import db
app = create_app({{"SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "x"}},
                 instance_path={str(tmp_path)!r})
before = db.Model.registry._new_mappers
from teletherapy.gateways import zipcodes
table_before = zipcodes._table.cache_info().currsize
import runpy
runpy.run_path({str(ROOT / "gunicorn.conf.py")!r})["post_worker_init"](SimpleNamespace(
    wsgi=app, cfg=SimpleNamespace(workers=1), log=logging.getLogger("w")))
import gc
print(before, db.Model.registry._new_mappers, table_before, zipcodes._table.cache_info().currsize,
      gc.get_freeze_count() > 10_000)
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    # Mappers set up, the ZIP table built (gateways/zipcodes.py), and what the worker holds
    # frozen out of the cyclic collector's walks, before it serves.
    expected = ["True", "False", "0", "1", "True"]
    assert done.stdout.split()[-5:] == expected, done.stdout + done.stderr
