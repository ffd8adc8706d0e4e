"""Languages of the interface: the catalogs, their compilation and a person's language.

The `.po` catalogs are the only committed form of a translation; they are compiled to
`.mo` once per process into a private folder, so no build step and no generated files
are needed (`make messages` extracts and updates the catalogs).
"""

from __future__ import annotations

import ast
import builtins
import copy
import functools
import hashlib
import io
import logging
import tempfile
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, Protocol
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError, dates, numbers
from babel.messages.extract import extract_python
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import current_app
from flask_babel import LazyString, force_locale, get_locale, gettext

from teletherapy.domain import vocabularies

logger = logging.getLogger(__name__)

TRANSLATIONS = Path(__file__).parent / "translations"
DOMAIN = "messages"

_lock = threading.Lock()
_compiled: dict[str, Path] = {}


class HasLanguage(Protocol):
    language: str


def language_for(person: HasLanguage | None, languages: Sequence[str]) -> str:
    """The interface language of a person: theirs when the interface has it, else the first."""
    if person is not None and person.language in languages:
        return person.language
    return languages[0]


@contextmanager
def speaking_to(person: HasLanguage | None) -> Iterator[str]:
    """Render what is inside in the recipient's language (not the sender's): emails,
    invites, reminders. Yields the language code."""
    language = language_for(person, list(current_app.config["LANGUAGES"]))
    with force_locale(language):
        yield language


def text_direction(language: str) -> str:
    """'ltr' or 'rtl' from Babel's locale data, so a right-to-left catalog needs no code."""
    return "rtl" if Locale.parse(language).text_direction == "rtl" else "ltr"


def native_name(language: str) -> str:
    """'English', 'Español': the language's name in itself (for the switch)."""
    name = Locale.parse(language).get_display_name(language) or language
    return name[:1].upper() + name[1:]


def compile_catalogs(sources: Iterable[Path]) -> list[Path]:
    """Compile every `<dir>/<lang>/LC_MESSAGES/messages.po` to .mo in a per-process cache.

    Returns the compiled folders in the order given. The cache key is the content of the
    catalogs, so an edited .po is picked up by the next app built in the same process.
    """
    folders = []
    for source in sources:
        catalogs = sorted(source.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))
        digest = hashlib.sha256(str(source).encode())
        for po in catalogs:
            digest.update(po.read_bytes())
        key = digest.hexdigest()
        with _lock:
            target = _compiled.get(key)
            if target is None:
                target = Path(tempfile.mkdtemp(prefix="teletherapy-translations-"))
                for po in catalogs:
                    _compile(po, target / po.parent.relative_to(source))
                _compiled[key] = target
        folders.append(target)
    return folders


def _compile(po: Path, folder: Path) -> None:
    with po.open("rb") as handle:
        catalog = read_po(handle, locale=po.parent.parent.name)
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / f"{DOMAIN}.mo").open("wb") as handle:
        write_mo(handle, catalog, use_fuzzy=False)
    logger.debug("compiled %s", po)


# --------------------------------------------------------------------------- formats

_PATTERNS = {"short_day": "MMMEd", "date": "yMMMEd"}


def format_instant(
    instant: datetime, time_zone: str, language: str, style: str = "datetime"
) -> str:
    """An instant on the person's wall clock, in their language, from Babel's locale data.

    datetime: 'Tue, Dec 1, 6:00 pm EST' / 'mar, 1 dic, 18:00 EST'; time: '6:00 pm EST';
    day: 'Tuesday, December 1, 2026'; full: the day and the time; short_day; date (with the
    year); zone: 'Eastern Time'.
    """
    zone = ZoneInfo(time_zone)
    local = instant.astimezone(zone)
    if style == "zone":
        return zone_name(time_zone, language)
    if style == "day":
        return dates.format_date(local, "full", locale=language)
    if style == "full":
        # Where a decision rests on it (deadlines): the full date and the time, joined the
        # locale's way ('Tuesday, December 1, 2026, 10:00 am EST'; no English "at").
        clock = _house_style(
            dates.format_time(local, "short", tzinfo=zone, locale=language), language
        )
        joined = str(dates.get_datetime_format("medium", locale=language)).format(
            f"{clock} {local.tzname()}", dates.format_date(local, "full", locale=language)
        )
        return joined.replace("\u202f", " ")
    if style in _PATTERNS:
        return dates.format_skeleton(_PATTERNS[style], local, tzinfo=zone, locale=language)
    time = _house_style(dates.format_time(local, "short", tzinfo=zone, locale=language), language)
    if style == "time":
        return f"{time} {local.tzname()}"
    day = dates.format_skeleton("MMMEd", local, tzinfo=zone, locale=language)
    return f"{day}, {time} {local.tzname()}"


def _house_style(text: str, language: str) -> str:
    """Plain spaces (CLDR's narrow no-break space trips copy and search) and, in English,
    the lower-case 'am'/'pm' the site has always used."""
    text = text.replace("\u202f", " ")
    if language.split("_")[0] == "en":
        text = text.replace("AM", "am").replace("PM", "pm")
    return text


def zone_name(time_zone: str, language: str) -> str:
    """'Eastern Time' / 'hora oriental' for America/New_York. A zone that keeps one offset
    all year goes by its standard name ('Mountain Standard Time' for America/Phoenix,
    'Coordinated Universal Time' for UTC): CLDR's generic name falls back to a region
    there ('United States (Phoenix) Time', 'Unknown Region (UTC) Time')."""
    variant: Literal["standard", "generic"] = (
        "standard" if _keeps_one_offset(time_zone) else "generic"
    )
    return dates.get_timezone_name(
        ZoneInfo(time_zone), width="long", zone_variant=variant, locale=language
    )


def zone_label(time_zone: str, language: str) -> str:
    """A zone as a person picks it: its name and its city, 'Eastern Time (New York)' /
    'hora oriental (Nueva York)' (two zones may share a name: Denver and Phoenix)."""
    city = dates.get_timezone_location(ZoneInfo(time_zone), locale=language, return_city=True)
    return f"{zone_name(time_zone, language)} ({city})"


@functools.lru_cache(maxsize=128)
def _keeps_one_offset(time_zone: str) -> bool:
    """No daylight saving time this year or the next (offsets in winter and summer)."""
    zone = ZoneInfo(time_zone)
    year = datetime.now(zone).year
    offsets = {
        datetime(y, month, 15, 12, tzinfo=zone).utcoffset()
        for y in (year, year + 1)
        for month in (1, 7)
    }
    return len(offsets) == 1


def format_money(cents: int, currency: str, language: str) -> str:
    """4000 -> '$40' (whole amounts without cents), 4250 -> '$42.50', in the language's style."""
    locale = Locale.parse(_money_locale(language))
    amount = Decimal(cents) / 100
    if cents % 100 == 0:
        pattern = copy.copy(locale.currency_formats["standard"])
        pattern.frac_prec = (0, 0)
        return str(pattern.apply(amount, locale, currency=currency.upper(), currency_digits=False))
    return numbers.format_currency(amount, currency.upper(), locale=locale)


def _money_locale(language: str) -> str:
    """Amounts are US dollars for people in the US: the US variant of the language if any."""
    for candidate in (f"{language}_US", language):
        try:
            Locale.parse(candidate)
        except (UnknownLocaleError, ValueError):
            continue
        return candidate
    return "en_US"


def format_number(value: float, language: str) -> str:
    return numbers.format_decimal(value, locale=language)


# --------------------------------------------------------------------------- vocabularies


def vocabulary_label(vocabulary: Mapping[str, str], code: str, language: str) -> str:
    """A code's label in the current language: language names from Babel's locale data,
    every other label from the catalog (its English label is the msgid)."""
    english = vocabulary.get(code)
    if english is None:
        return code
    if vocabulary is vocabularies.LANGUAGES:
        name = Locale.parse(language).languages.get(code)
        if name:
            return str(name[:1].upper() + name[1:])
    return str(gettext(english))


def translated(vocabulary: Mapping[str, str], language: str) -> dict[str, str]:
    return {code: vocabulary_label(vocabulary, code, language) for code in vocabulary}


def lazy_label(code: str, label: Any) -> Any:
    """A choice's label translated when shown: a language code's name from Babel's data,
    any other English label from the catalog; an already lazy label stays as it is."""
    if not isinstance(label, str) or not label:
        return label
    if vocabularies.LANGUAGES.get(code) == label:
        return LazyString(lambda: vocabulary_label(vocabularies.LANGUAGES, code, _current()))
    return LazyString(gettext, label)


def _current() -> str:
    locale = get_locale()
    return str(locale) if locale is not None else "en"


class TranslatedVocabularies:
    """`vocab` in templates: every vocabulary of domain.vocabularies, labels translated."""

    def __init__(self, language: str) -> None:
        self.language = language

    def __getattr__(self, name: str) -> Any:
        value = getattr(vocabularies, name)
        if isinstance(value, dict):
            return translated(value, self.language)
        return value

    @staticmethod
    def label(vocabulary: Mapping[str, str], code: str) -> str:
        return vocabulary.get(code, code)


# --------------------------------------------------------------------------- extraction

_ERROR_SUFFIX = ("Error", "Denied")
Extracted = tuple[Any, ...]
# Positional label arguments of value objects seeded with English text (fee bands).
_LABEL_ARGUMENT = {"FeeBand": 1, "Reason": 0}


def extract_labels(
    fileobj: Any, keywords: Any, comment_tags: Any, options: dict[str, str]
) -> Iterator[Extracted]:
    """A Babel extractor for text that pure code cannot mark with `_()`.

    Yields the string values of module-level dict literals (vocabulary labels; with the
    option `dicts = true`, or `dicts = NAME ...` for some), `label=`
    keyword arguments (fee bands), and the constant messages of `...Error(...)` calls with
    the messages of their `errors={field: [...]}` (translated where they are shown).
    """
    source = fileobj.read()
    dicts = options.get("dicts", "").split()
    yield from extract_python(io.BytesIO(source), keywords, comment_tags, options)  # type: ignore[arg-type]
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            name = _dict_name(tree, node)
            if name is None or not ("true" in dicts or name in dicts):
                continue
            for value in node.values:
                if isinstance(value, ast.Constant):
                    yield from _text(value)
        elif isinstance(node, ast.Call):
            for keyword in node.keywords:
                if keyword.arg in {"label", "title", "change"} and isinstance(
                    keyword.value, ast.Constant
                ):
                    yield from _text(keyword.value)
            name = _call_name(node)
            if name in _LABEL_ARGUMENT and len(node.args) > _LABEL_ARGUMENT[name]:
                label = node.args[_LABEL_ARGUMENT[name]]
                if isinstance(label, ast.Constant):
                    yield from _text(label)
            if name.endswith(_ERROR_SUFFIX) and not hasattr(builtins, name):
                # A built-in error (ValueError ...) is a programmer's message, never shown.
                yield from _error_messages(node)
        elif isinstance(node, ast.ClassDef) and node.name.endswith(_ERROR_SUFFIX):
            for statement in node.body:
                if (
                    isinstance(statement, ast.Assign)
                    and any(isinstance(t, ast.Name) and t.id == "title" for t in statement.targets)
                    and isinstance(statement.value, ast.Constant)
                ):
                    yield from _text(statement.value)


def _text(node: ast.Constant) -> Iterator[Extracted]:
    if isinstance(node.value, str) and node.value:
        yield node.lineno, None, node.value, []


def _call_name(node: ast.Call) -> str:
    if isinstance(node.func, ast.Name):
        return node.func.id
    if isinstance(node.func, ast.Attribute):
        return node.func.attr
    return ""


def _dict_name(tree: ast.Module, node: ast.Dict) -> str | None:
    """The name a module-level dict literal is assigned to, else None."""
    for statement in tree.body:
        if isinstance(statement, ast.Assign) and statement.value is node:
            target = statement.targets[0]
            return target.id if isinstance(target, ast.Name) else None
        if isinstance(statement, ast.AnnAssign) and statement.value is node:
            return statement.target.id if isinstance(statement.target, ast.Name) else None
    return None


def _error_messages(node: ast.Call) -> Iterator[Extracted]:
    candidates: list[ast.AST] = list(node.args[:1])
    for keyword in node.keywords:
        if keyword.arg == "errors" and isinstance(keyword.value, ast.Dict):
            for value in keyword.value.values:
                if isinstance(value, ast.List | ast.Tuple):
                    candidates.extend(value.elts)
                else:
                    candidates.append(value)
    for candidate in candidates:
        if isinstance(candidate, ast.Constant):
            yield from _text(candidate)
