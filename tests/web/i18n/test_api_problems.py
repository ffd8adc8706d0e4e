"""problem+json speaks the asker's language (Accept-Language, or the person's own), with
the same `type` and `status` in every language."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from tests.conftest import PASSWORD


def _problem(response: Any) -> dict[str, Any]:
    assert response.mimetype == "application/problem+json"
    body: dict[str, Any] = response.get_json()
    return body


def test_a_failed_sign_in_is_explained_in_spanish_with_the_same_type_and_status(
    client: FlaskClient, make_user: Any
) -> None:
    user = make_user()
    body = {"email": user.email, "password": "wrong-password-1"}
    english = _problem(client.post("/api/v1/tokens", json=body))
    spanish = _problem(
        client.post("/api/v1/tokens", json=body, headers={"Accept-Language": "es-419,es"})
    )
    assert (spanish["type"], spanish["status"]) == (english["type"], english["status"])
    assert english["title"] == "Authentication required"
    assert spanish["title"] == "Se requiere autenticación"
    assert spanish["detail"] == "El correo electrónico o la contraseña no son correctos."


def test_field_problems_are_in_spanish(client: FlaskClient) -> None:
    response = client.post("/api/v1/tokens", json={}, headers={"Accept-Language": "es"})
    problem = _problem(response)
    assert problem["status"] == 422
    assert problem["title"] == "Datos no válidos"
    assert problem["detail"] == "Algunos campos necesitan atención."
    assert problem["errors"]["email"] == ["Falta un dato obligatorio."]


def test_a_person_whose_language_is_spanish_gets_spanish_problems(
    client: FlaskClient, make_user: Any
) -> None:
    user = make_user(language="es")
    token = client.post("/api/v1/tokens", json={"email": user.email, "password": PASSWORD})
    headers = {"Authorization": f"Bearer {token.get_json()['token']}"}
    english = _problem(client.get("/api/v1/bookings/999999", headers={**headers}))
    assert english["status"] == 404
    assert english["title"] == "No encontrado"
    assert english["type"].endswith("/not-found")


def test_an_unknown_address_is_a_spanish_404(client: FlaskClient) -> None:
    problem = _problem(client.get("/api/v1/nothing-here", headers={"Accept-Language": "es"}))
    assert problem["status"] == 404
    assert problem["title"] == "No encontrado"
    assert problem["detail"] == "No hay nada en esta dirección."


def test_pages_show_errors_in_the_persons_language(client: FlaskClient) -> None:
    html = client.get("/no-such-page", headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert "No encontrado" in html and 'lang="es"' in html
