"""Which language a page speaks: the person's, else the switch's cookie, else
Accept-Language, else English; `<html lang dir>` always name it."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient

from teletherapy.models import User


def _html_lang(html: str) -> tuple[str, str]:
    match = re.search(r'<html lang="([^"]+)" dir="([^"]+)"', html)
    assert match, html[:200]
    return match.group(1), match.group(2)


def test_a_first_visit_speaks_english(client: FlaskClient) -> None:
    html = client.get("/").get_data(as_text=True)
    assert _html_lang(html) == ("en", "ltr")
    assert "If you are in crisis" in html


def test_accept_language_chooses_spanish_before_sign_in(client: FlaskClient) -> None:
    html = client.get("/", headers={"Accept-Language": "es-MX,es;q=0.9,en;q=0.5"}).get_data(
        as_text=True
    )
    assert _html_lang(html) == ("es", "ltr")
    assert "Si está en crisis" in html


def test_an_unsupported_accept_language_falls_back_to_english(client: FlaskClient) -> None:
    html = client.get("/", headers={"Accept-Language": "de"}).get_data(as_text=True)
    assert _html_lang(html)[0] == "en"


def test_the_switch_sets_a_cookie_that_wins_over_accept_language(client: FlaskClient) -> None:
    response = client.post("/language", data={"language": "es", "next": "/groups"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/groups"
    assert "language=es" in response.headers["Set-Cookie"]
    html = client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert _html_lang(html)[0] == "es"


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", ""])
def test_the_switch_only_returns_to_this_site(client: FlaskClient, target: str) -> None:
    response = client.post("/language", data={"language": "es", "next": target})
    assert response.headers["Location"] == "/"


def test_the_switch_ignores_a_language_the_interface_does_not_have(client: FlaskClient) -> None:
    response = client.post("/language", data={"language": "fr", "next": "/"})
    assert "Set-Cookie" not in response.headers


def test_the_signed_in_persons_language_wins_over_cookie_and_header(
    client: FlaskClient, make_user: Callable[..., User], login: Callable[[User], FlaskClient]
) -> None:
    client.set_cookie("language", "en")
    login(make_user(language="es"))
    html = client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert _html_lang(html)[0] == "es"


def test_a_person_whose_language_the_interface_lacks_gets_the_switch_or_header(
    client: FlaskClient, make_user: Callable[..., User], login: Callable[[User], FlaskClient]
) -> None:
    login(make_user(language="zh"))
    html = client.get("/", headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert _html_lang(html)[0] == "es"


def test_switching_while_signed_in_changes_the_persons_language(
    client: FlaskClient,
    make_user: Callable[..., User],
    login: Callable[[User], FlaskClient],
    db: Any,
) -> None:
    user = make_user(language="en")
    login(user)
    client.post("/language", data={"language": "es", "next": "/"})
    db.session.expire_all()
    assert db.session.get(User, user.id).language == "es"
    assert _html_lang(client.get("/").get_data(as_text=True))[0] == "es"


def test_every_page_has_the_switch_naming_each_language_in_itself(client: FlaskClient) -> None:
    html = client.get("/sign-in").get_data(as_text=True)
    assert 'lang="es" translate="no"' in html
    assert ">Español</button>" in html
    assert ">English</button>" in html


@pytest.mark.parametrize("app_config", [{"LANGUAGES": ["en", "es", "ar"]}])
def test_a_right_to_left_language_needs_only_configuration(client: FlaskClient) -> None:
    html = client.get("/", headers={"Accept-Language": "ar"}).get_data(as_text=True)
    assert _html_lang(html) == ("ar", "rtl")


def test_wtforms_own_messages_follow_the_language(client: FlaskClient) -> None:
    html = client.post(
        "/sign-in", data={"email": "", "password": ""}, headers={"Accept-Language": "es"}
    ).get_data(as_text=True)
    assert "Este campo es obligatorio." in html
    assert "Corrija los campos señalados." in html


def test_times_and_money_follow_the_locale() -> None:
    from datetime import UTC, datetime

    from teletherapy.i18n import format_instant, format_money, zone_name

    at = datetime(2026, 12, 1, 23, 0, tzinfo=UTC)
    assert format_instant(at, "America/New_York", "en") == "Tue, Dec 1, 6:00 pm EST"
    assert format_instant(at, "America/New_York", "es") == "mar, 1 dic, 18:00 EST"
    assert format_instant(at, "America/New_York", "es", "time") == "18:00 EST"
    assert format_instant(at, "America/New_York", "es", "day") == "martes, 1 de diciembre de 2026"
    assert zone_name("America/New_York", "es") == format_instant(
        at, "America/New_York", "es", "zone"
    )
    assert zone_name("America/New_York", "en") == "Eastern Time"
    assert format_money(4000, "usd", "es") == "$40"
    assert format_money(4250, "usd", "en") == "$42.50"
    assert format_money(-120000, "usd", "es") == "-$1,200"


def test_zones_are_named_in_words_and_offered_with_their_city(client: FlaskClient) -> None:
    from teletherapy.i18n import zone_label, zone_name

    # A zone that keeps one offset all year by its standard name: CLDR's generic name
    # would be "Unknown Region (UTC) Time", "United States (Phoenix) Time".
    assert zone_name("UTC", "en") == "Coordinated Universal Time"
    assert zone_name("America/Phoenix", "en") == "Mountain Standard Time"
    assert zone_name("America/Denver", "en") == "Mountain Time"
    assert zone_label("America/New_York", "es") == "hora oriental (Nueva York)"
    # The sign-up page offers each zone by name and city, in the page's language.
    english = client.get("/sign-up").get_data(as_text=True)
    assert '<option selected value="America/New_York">Eastern Time (New York)</option>' in english
    assert ">Mountain Standard Time (Phoenix)</option>" in english
    spanish = client.get("/sign-up", headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert 'value="America/New_York">hora oriental (Nueva York)</option>' in spanish


def test_vocabulary_labels_and_language_names_follow_the_locale(app: Any) -> None:
    from flask_babel import force_locale

    from teletherapy.domain import vocabularies
    from teletherapy.i18n import vocabulary_label

    with app.test_request_context(), force_locale("es"):
        assert vocabulary_label(vocabularies.LANGUAGES, "en", "es") == "Inglés"
        assert vocabulary_label(vocabularies.LANGUAGES, "asl", "es") == (
            "Lengua de señas americana (ASL)"
        )
        assert vocabulary_label(vocabularies.CONCERNS, "anxiety", "es") == "Ansiedad"
        assert vocabulary_label(vocabularies.CONCERNS, "unknown", "es") == "unknown"
