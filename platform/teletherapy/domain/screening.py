"""Screening instruments (PHQ-9, GAD-7): scoring, severity, validation and change over time.

The instruments and the outcome thresholds are data files in teletherapy/data/instruments/
(the published wording, LOINC codes and sources live there); this module reads them and
does the arithmetic. Nothing here diagnoses: a total and a severity band are screening
results a clinician interprets.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from teletherapy.domain.errors import Text, ValidationError

DATA_DIR = Path(__file__).resolve().parent.parent / "data" / "instruments"
INSTRUMENT_CODES = ("phq9", "gad7")
LANGUAGES = ("en", "es")
SELF_HARM_FLAG = "self_harm_item"


class InvalidAnswers(ValidationError):
    """Answers that cannot be scored; `errors` names each item (`answers[3]`) at fault."""

    title = "Invalid answers"
    type_slug = "invalid-answers"


class ChangeCategory(enum.StrEnum):
    RELIABLE_RECOVERY = "reliable_recovery"
    RECOVERY = "recovery"
    RELIABLE_IMPROVEMENT = "reliable_improvement"
    RELIABLE_DETERIORATION = "reliable_deterioration"
    NO_RELIABLE_CHANGE = "no_reliable_change"


@dataclass(frozen=True)
class Choice:
    value: int
    text: Mapping[str, str]
    loinc: str | None = None


@dataclass(frozen=True)
class Item:
    number: int
    text: Mapping[str, str]
    loinc: str


@dataclass(frozen=True)
class Band:
    code: str
    low: int
    high: int


@dataclass(frozen=True)
class Thresholds:
    """Outcome thresholds of one instrument (NHS Talking Therapies), with their source."""

    caseness: int
    reliable_change: int
    source: str
    response_source: str
    not_improving_weeks: int


@dataclass(frozen=True)
class Instrument:
    code: str
    name: str
    title: Mapping[str, str]
    stem: Mapping[str, str]
    items: tuple[Item, ...]
    choices: tuple[Choice, ...]
    bands: tuple[Band, ...]
    max_total: int
    loinc_panel: str
    loinc_total: str
    difficulty_text: Mapping[str, str]
    difficulty_choices: tuple[Choice, ...]
    difficulty_loinc: str | None
    self_harm_item: int | None
    thresholds: Thresholds
    source: Mapping[str, Any]

    @property
    def max_answer(self) -> int:
        return max(c.value for c in self.choices)

    @property
    def severity_codes(self) -> tuple[str, ...]:
        return tuple(b.code for b in self.bands)

    def text(self, mapping: Mapping[str, str], language: str) -> str:
        return mapping.get(language) or mapping["en"]


@dataclass(frozen=True)
class Score:
    total: int
    severity: str
    flags: tuple[str, ...]


@dataclass(frozen=True)
class Change:
    """How the latest score compares with the first (baseline) one."""

    baseline: int
    latest: int
    delta: int  # latest - baseline: negative is better
    category: ChangeCategory
    is_reliable_improvement: bool
    is_reliable_deterioration: bool
    is_recovery: bool
    is_response: bool
    baseline_caseness: bool
    latest_caseness: bool


def _choices(rows: Sequence[Mapping[str, Any]]) -> tuple[Choice, ...]:
    return tuple(
        Choice(
            value=int(r["value"]),
            text={lang: r[lang] for lang in LANGUAGES},
            loinc=r.get("loinc"),
        )
        for r in rows
    )


@cache
def _outcomes() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA_DIR / "outcomes.json").read_text(encoding="utf-8"))
    return data


@cache
def get_instrument(code: str) -> Instrument:
    """The instrument with this code; an unknown code is a 422 naming `instrument`."""
    if code not in INSTRUMENT_CODES:
        raise InvalidAnswers(
            Text("Unknown instrument %(code)s.", code=repr(code)),
            errors={
                "instrument": [
                    Text("Must be one of: %(choices)s.", choices=", ".join(INSTRUMENT_CODES))
                ]
            },
        )
    raw = json.loads((DATA_DIR / f"{code}.json").read_text(encoding="utf-8"))
    outcomes = _outcomes()
    limits = outcomes["instruments"][code]
    return Instrument(
        code=raw["code"],
        name=raw["name"],
        title=raw["title"],
        stem=raw["stem"],
        items=tuple(
            Item(
                number=int(r["number"]),
                text={lang: r[lang] for lang in LANGUAGES},
                loinc=r["loinc"],
            )
            for r in raw["items"]
        ),
        choices=_choices(raw["answers"]),
        bands=tuple(
            Band(code=b["code"], low=int(b["min"]), high=int(b["max"]))
            for b in raw["severity_bands"]
        ),
        max_total=int(raw["max_total"]),
        loinc_panel=raw["loinc"]["panel"],
        loinc_total=raw["loinc"]["total"],
        difficulty_text={lang: raw["difficulty"][lang] for lang in LANGUAGES},
        difficulty_choices=_choices(raw["difficulty"]["answers"]),
        difficulty_loinc=raw["difficulty"]["loinc"],
        self_harm_item=raw["self_harm_item"],
        thresholds=Thresholds(
            caseness=int(limits["caseness"]),
            reliable_change=int(limits["reliable_change"]),
            source=outcomes["source"],
            response_source=outcomes["response_source"],
            not_improving_weeks=int(outcomes["not_improving_weeks"]),
        ),
        source=raw["source"],
    )


def list_instruments() -> list[Instrument]:
    return [get_instrument(code) for code in INSTRUMENT_CODES]


def validate_answers(instrument: Instrument, answers: Sequence[object]) -> tuple[int, ...]:
    """The answers as item scores, or InvalidAnswers naming every item at fault."""
    count = len(instrument.items)
    allowed = ", ".join(str(c.value) for c in instrument.choices)
    if len(answers) != count:
        raise InvalidAnswers(
            Text(
                "%(instrument)s has %(count)d items; %(given)d answers were given.",
                instrument=instrument.name,
                count=count,
                given=len(answers),
            ),
            errors={
                "answers": [
                    Text(
                        "Give exactly %(count)d answers, one per item, in item order.",
                        count=count,
                    )
                ]
            },
        )
    errors: dict[str, list[str]] = {}
    values: list[int] = []
    for index, answer in enumerate(answers):
        number = instrument.items[index].number
        if answer is None:
            errors[f"answers[{index}]"] = [Text("Item %(number)d has no answer.", number=number)]
            continue
        if isinstance(answer, bool) or not isinstance(answer, int):
            errors[f"answers[{index}]"] = [
                Text("Item %(number)d must be one of %(allowed)s.", number=number, allowed=allowed)
            ]
            continue
        if not 0 <= answer <= instrument.max_answer:
            errors[f"answers[{index}]"] = [
                Text(
                    "Item %(number)d is out of range: must be one of %(allowed)s.",
                    number=number,
                    allowed=allowed,
                )
            ]
            continue
        values.append(answer)
    if errors:
        raise InvalidAnswers(
            Text("Some %(instrument)s answers are missing or invalid.", instrument=instrument.name),
            errors=errors,
        )
    return tuple(values)


def validate_difficulty(instrument: Instrument, difficulty: object) -> int | None:
    """The functional-difficulty answer (recorded, never scored); None when not answered."""
    if difficulty is None:
        return None
    allowed = [c.value for c in instrument.difficulty_choices]
    if not isinstance(difficulty, int) or isinstance(difficulty, bool) or difficulty not in allowed:
        raise InvalidAnswers(
            "The difficulty answer is out of range.",
            errors={
                "difficulty": [
                    Text("Must be one of %(choices)s.", choices=", ".join(map(str, allowed)))
                ]
            },
        )
    return difficulty


def severity(instrument: Instrument, total: int) -> str:
    for band in instrument.bands:
        if band.low <= total <= band.high:
            return band.code
    raise ValueError(f"{instrument.name} total {total} is outside 0..{instrument.max_total}")


def flags(instrument: Instrument, answers: Sequence[int]) -> tuple[str, ...]:
    """`self_harm_item` when the instrument's self-harm item (PHQ-9 item 9) is above 0."""
    item = instrument.self_harm_item
    if item is not None and answers[item - 1] > 0:
        return (SELF_HARM_FLAG,)
    return ()


def score(instrument: Instrument, answers: Sequence[object]) -> Score:
    values = validate_answers(instrument, answers)
    total = sum(values)
    return Score(total=total, severity=severity(instrument, total), flags=flags(instrument, values))


def is_caseness(instrument: Instrument, total: int) -> bool:
    return total >= instrument.thresholds.caseness


def classify_change(instrument: Instrument, *, baseline: int, latest: int) -> Change:
    """Change as NHS Talking Therapies reports it, plus response (a 50 % drop)."""
    limits = instrument.thresholds
    delta = latest - baseline
    improved = -delta >= limits.reliable_change
    worse = delta >= limits.reliable_change
    was_case = is_caseness(instrument, baseline)
    is_case = is_caseness(instrument, latest)
    recovered = was_case and not is_case
    response = baseline > 0 and latest * 2 <= baseline
    if recovered and improved:
        category = ChangeCategory.RELIABLE_RECOVERY
    elif recovered:
        category = ChangeCategory.RECOVERY
    elif improved:
        category = ChangeCategory.RELIABLE_IMPROVEMENT
    elif worse:
        category = ChangeCategory.RELIABLE_DETERIORATION
    else:
        category = ChangeCategory.NO_RELIABLE_CHANGE
    return Change(
        baseline=baseline,
        latest=latest,
        delta=delta,
        category=category,
        is_reliable_improvement=improved,
        is_reliable_deterioration=worse,
        is_recovery=recovered,
        is_response=response,
        baseline_caseness=was_case,
        latest_caseness=is_case,
    )


def is_not_improving(
    instrument: Instrument, history: Sequence[tuple[datetime, int]], *, now: datetime
) -> bool:
    """True when the first score is at least 8 weeks old and no reliable improvement since.

    `history` is (completed_at, total) in any order. One result alone, or a first one
    younger than the window, says nothing yet.
    """
    if len(history) < 2:
        return False
    ordered = sorted(history)
    first_at, first_total = ordered[0]
    if now - first_at < timedelta(weeks=instrument.thresholds.not_improving_weeks):
        return False
    change = classify_change(instrument, baseline=first_total, latest=ordered[-1][1])
    return not change.is_reliable_improvement


# --------------------------------------------------------------------------- cadence


class Cadence(enum.StrEnum):
    EVERY_SESSION = "every_session"
    EVERY_OTHER = "every_other"
    MONTHLY = "monthly"
    OFF = "off"


def is_due(
    cadence: str,
    *,
    last_completed_at: datetime | None,
    sessions_since_last: int,
    session_start: datetime,
) -> bool:
    """Whether the reminder of a session should invite the client to answer again.

    `sessions_since_last` counts this client's sessions with the therapist that started
    after the last result (this one not included).
    """
    if cadence == Cadence.OFF:
        return False
    if last_completed_at is None or cadence == Cadence.EVERY_SESSION:
        return True
    if cadence == Cadence.EVERY_OTHER:
        return sessions_since_last >= 1
    return session_start - last_completed_at >= timedelta(days=28)


# --------------------------------------------------------------------------- crisis lines


@dataclass(frozen=True)
class CrisisResource:
    code: str
    name: Mapping[str, str]
    contact: str
    how: Mapping[str, str]


CRISIS_RESOURCES: tuple[CrisisResource, ...] = (
    CrisisResource(
        code="988",
        name={
            "en": "988 Suicide & Crisis Lifeline",
            "es": "988 Línea de Prevención del Suicidio y Crisis",
        },
        contact="988",
        how={
            "en": "Call or text 988, any time. For Spanish, press 2 when you call.",
            "es": "Llame o envíe un mensaje de texto al 988, a cualquier hora. Para español, "
            "marque 2 al llamar.",
        },
    ),
    CrisisResource(
        code="911",
        name={"en": "Emergency services", "es": "Servicios de emergencia"},
        contact="911",
        how={
            "en": "If you are in immediate danger, call 911.",
            "es": "Si está en peligro inmediato, llame al 911.",
        },
    ),
    CrisisResource(
        code="samhsa",
        name={"en": "SAMHSA National Helpline", "es": "Línea Nacional de Ayuda de SAMHSA"},
        contact="1-800-662-4357",
        how={
            "en": "Free, confidential, 24/7, in English and Spanish: 1-800-662-HELP (4357).",
            "es": "Gratis, confidencial, 24/7, en inglés y español: 1-800-662-HELP (4357).",
        },
    ),
)


def crisis_resources(language: str) -> list[dict[str, str]]:
    lang = language if language in LANGUAGES else "en"
    return [
        {"code": r.code, "name": r.name[lang], "contact": r.contact, "how": r.how[lang]}
        for r in CRISIS_RESOURCES
    ]
