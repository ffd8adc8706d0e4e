"""The catalogs are complete and current: every Spanish entry translated and not fuzzy,
the same placeholders as its English, and the catalog holds exactly what the code marks."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from teletherapy.i18n import TRANSLATIONS
from tests.i18n.pseudo import extract

PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def _catalog(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle, locale=locale)


def _ids(catalog: Catalog) -> set[str]:
    return {m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id}


@pytest.fixture(scope="module")
def spanish() -> Catalog:
    return _catalog(TRANSLATIONS / "es" / "LC_MESSAGES" / "messages.po", "es")


def test_every_spanish_entry_is_translated_and_not_fuzzy(spanish: Catalog) -> None:
    untranslated = [
        m.id
        for m in spanish
        if m.id and (not m.string or (isinstance(m.string, tuple) and not all(m.string)))
    ]
    fuzzy = [m.id for m in spanish if m.id and m.fuzzy]
    assert untranslated == []
    assert fuzzy == []


def test_spanish_keeps_every_placeholder(spanish: Catalog) -> None:
    wrong = []
    for message in spanish:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        expected = set(PLACEHOLDER.findall(ids[-1])) | set(PLACEHOLDER.findall(ids[0]))
        for string in strings:
            # A singular may say "one" in words instead of %(num)d.
            if set(PLACEHOLDER.findall(string)) - expected or (
                len(strings) == 1 and set(PLACEHOLDER.findall(string)) != expected
            ):
                wrong.append(message.id)
    assert wrong == []


def test_the_catalogs_hold_exactly_what_the_code_marks(spanish: Catalog, tmp_path: Path) -> None:
    """`make messages` was run after the last change to marked text (CI fails otherwise)."""
    current = _ids(_catalog(extract(tmp_path)))
    committed_template = _ids(_catalog(TRANSLATIONS / "messages.pot"))
    assert sorted(current - committed_template) == [], "run make messages"
    assert sorted(committed_template - current) == [], "run make messages"
    assert sorted(current - _ids(spanish)) == [], "run make messages and translate"
    assert sorted(_ids(spanish) - current) == [], "run make messages"


def test_a_new_language_is_a_catalog_and_one_setting() -> None:
    from teletherapy.settings import DEFAULTS

    assert DEFAULTS["LANGUAGES"] == ["en", "es"]
    catalogs = sorted(p.parent.parent.name for p in TRANSLATIONS.glob("*/LC_MESSAGES/*.po"))
    assert catalogs == ["es"]  # English is the source language
