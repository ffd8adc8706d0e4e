"""A pseudo-locale: every msgstr is its msgid wrapped in ⟦…⟧, so untranslated text shows.

It borrows Esperanto's code ("eo": Babel has locale data for it, the interface never
offers it); its date and number words come from Babel, so they are data, not text.
"""

from __future__ import annotations

import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

from babel import Locale
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "platform" / "teletherapy" / "translations"
PSEUDO = "eo"
OPEN, CLOSE = "⟦", "⟧"


def babel_keywords() -> list[str]:
    """The `-k` options of `make messages` (the Makefile's BABEL_KEYWORDS), one source."""
    for line in (ROOT / "Makefile").read_text(encoding="utf-8").splitlines():
        if line.startswith("BABEL_KEYWORDS :="):
            return line.split(":=", 1)[1].split()
    raise AssertionError("BABEL_KEYWORDS not found in the Makefile")


def extract(target: Path) -> Path:
    """The messages the code has now (make messages' extraction, to a temp .pot)."""
    pot = target / "messages.pot"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "-F",
            str(ROOT / "babel.cfg"),
            *babel_keywords(),
            "--ignore-dirs",
            ".* __pycache__",
            "--no-location",
            "--sort-output",
            "-o",
            str(pot),
            ".",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    return pot


def write_pseudo_catalog(pot: Path, folder: Path) -> Path:
    with pot.open("rb") as handle:
        template = read_po(handle)
    catalog = Catalog(locale=PSEUDO)
    for message in template:
        if not message.id:
            continue
        if isinstance(message.id, tuple | list):
            strings = tuple(_mark(s) for s in message.id)
            catalog.add(message.id, strings, flags=message.flags)
        else:
            catalog.add(message.id, _mark(message.id), flags=message.flags)
    out = folder / PSEUDO / "LC_MESSAGES"
    out.mkdir(parents=True, exist_ok=True)
    with (out / "messages.po").open("wb") as handle:
        write_po(handle, catalog)
    return folder


def _mark(text: str) -> str:
    return f"{OPEN}{text}{CLOSE}"


class _Text(HTMLParser):
    """Visible text nodes and the attributes people read (aria-label, title, alt,
    placeholder, value of buttons), minus script/style and anything marked translate=no."""

    SKIP = {"script", "style", "code"}
    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool]] = []
        self.texts: list[str] = []

    def _hidden(self) -> bool:
        return any(skip for _, skip in self.stack)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        skip = tag in self.SKIP or values.get("translate") == "no"
        if not skip and not self._hidden():
            for name in ("aria-label", "title", "alt", "placeholder"):
                if values.get(name):
                    self.texts.append(values[name] or "")
            if (
                tag == "input"
                and values.get("type") in {"submit", "button"}
                and values.get("value")
            ):
                self.texts.append(values["value"] or "")
        if tag not in self.VOID:
            self.stack.append((tag, skip))

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                break

    def handle_data(self, data: str) -> None:
        if not self._hidden() and data.strip():
            self.texts.append(data)


def visible_texts(html: str) -> list[str]:
    parser = _Text()
    parser.feed(html)
    return parser.texts


# The innermost marked span; a translation may hold a marked placeholder, and its markup
# may split it over several text nodes, so spans are removed from the joined text.
_MARKED = re.compile(re.escape(OPEN) + "[^" + OPEN + CLOSE + "]*" + re.escape(CLOSE))
_DATA_TOKEN = re.compile(
    r"""^(
        [\W\d_]+                                  # numbers, punctuation, symbols
      | \S+@\S+                                   # email addresses
      | \S*[/:]\S*                                # URLs, IANA zones, times, paths
      | [A-Z]{1,5}\d*                             # zone abbreviations, codes, initials
      | \d+-a | la | de                           # Esperanto dates ("la 3-a de Decembro")
      | [a-z]\d*                                  # band codes
      | US\$?
    )$""",
    re.X,
)


def _zone_names(code: str) -> set[str]:
    """Babel's names of the zones the pages offer, as the app words them (i18n.zone_name,
    and zone_label with the city), fallbacks included ("tempo: ... (UTC)")."""
    from zoneinfo import ZoneInfo

    from babel.dates import get_timezone_name

    from teletherapy.i18n import zone_label, zone_name
    from teletherapy.web.forms import COMMON_ZONES

    zones = [*COMMON_ZONES, "UTC"]
    return {
        *(get_timezone_name(ZoneInfo(zone), width="long", locale=code) for zone in zones),
        *(zone_name(zone, code) for zone in zones),
        *(zone_label(zone, code) for zone in zones),
    }


def babel_words(code: str = PSEUDO) -> set[str]:
    """Month, weekday, day-period and language names: Babel's words for the pseudo-locale."""
    locale = Locale.parse(code)
    words: set[str] = set()
    for context in locale.months.values():
        for width in context.values():
            words.update(str(v) for v in width.values())
    for context in locale.days.values():
        for width in context.values():
            words.update(str(v) for v in width.values())
    for context in locale.day_periods.values():
        for width in context.values():
            words.update(str(v) for v in width.values())
    words.update(str(v) for v in locale.languages.values())
    words.update(str(v) for v in locale.territories.values())  # "tempo: Usono (Honolulu)"
    words.update(_zone_names(code))  # the zones a page offers, in Babel's words
    split = set()
    for word in words:
        split.update(re.split(r"[\s.:()]+", word))
    return {w.lower() for w in words | split if w}


def unmarked(texts: list[str], data_words: set[str]) -> list[str]:
    """Texts that still hold words outside ⟦…⟧ which are not data."""
    joined = "\n".join(text.strip() for text in texts)
    previous = None
    while previous != joined:
        previous, joined = joined, _MARKED.sub(" ", joined)
    problems = []
    for line in joined.splitlines():
        for token in re.split(r"\s+", line.strip()):
            bare = token.strip(_PUNCTUATION)
            if not bare or _DATA_TOKEN.match(bare) or bare.lower() in data_words:
                continue
            problems.append(line.strip())
            break
    return problems


_PUNCTUATION = ".,;:()[]!?«»\"'·\u2014\u2013-"
