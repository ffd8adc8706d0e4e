"""The superbill PDF prints names in any script: a Unicode font shipped with a package."""

from __future__ import annotations

import re
import zlib
from typing import Any

from flask.testing import FlaskClient

from tests.web.payments.test_pages import superbill_setup

NAMES = {
    "therapist": "Ελένη Παπαδοπούλου",  # Greek
    "client": "Анна Иванова 李明 김민준 محمد",  # Cyrillic, Han, Hangul, Arabic
}


def streams(pdf: bytes) -> str:
    """Every stream of the PDF, inflated when compressed, as Latin-1 text."""
    texts = []
    for match in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        raw = match.group(1)
        try:
            texts.append(zlib.decompress(raw).decode("latin-1"))
        except zlib.error:
            texts.append(raw.decode("latin-1"))
    return "\n".join(texts)


def test_names_in_any_script_are_printed_with_the_shipped_font(
    login: Any, client: FlaskClient, make_user: Any
) -> None:
    therapist = make_user("therapist", display_name=NAMES["therapist"])
    patient = make_user("client", display_name=NAMES["client"])
    booking = superbill_setup((therapist, patient))
    login(patient)
    response = client.get(f"/payments/superbill.pdf?booking={booking.id}")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert b"KurintoSans" in response.data
    assert b"Helvetica" not in response.data  # no Latin-1 core font, so no "?" for a letter
    cmaps = streams(response.data).upper()
    for name in NAMES.values():
        for character in name.replace(" ", ""):
            # Each character is mapped back from its glyph (ToUnicode), so it was printed.
            assert f"{ord(character):04X}" in cmaps, character


def test_a_latin_name_needs_no_fallback_font() -> None:
    from teletherapy.web.payments.pdf import needs_fallback

    assert not needs_fallback(["José Ñúñez", "Nguyễn Thị", "Анна", "محمد"])
    assert needs_fallback(["李明"])
