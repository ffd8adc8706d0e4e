"""Screening scores: tables for every severity boundary, every change category, every 422."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from teletherapy.domain import screening as s

PHQ9 = s.get_instrument("phq9")
GAD7 = s.get_instrument("gad7")
T0 = datetime(2026, 1, 5, 15, 0, tzinfo=UTC)


def answers_for(instrument: s.Instrument, total: int, *, last: int = 0) -> list[int]:
    """Item scores adding up to `total`, the last item fixed to `last`."""
    values = [0] * len(instrument.items)
    values[-1] = last
    remaining = total - last
    for i in range(len(values) - 1):
        values[i] = min(3, remaining)
        remaining -= values[i]
    assert remaining == 0
    return values


@pytest.mark.parametrize(
    ("total", "band"),
    [
        (0, "minimal"),
        (4, "minimal"),
        (5, "mild"),
        (9, "mild"),
        (10, "moderate"),
        (14, "moderate"),
        (15, "moderately_severe"),
        (19, "moderately_severe"),
        (20, "severe"),
        (24, "severe"),
    ],
)
def test_phq9_severity_at_every_boundary(total: int, band: str) -> None:
    result = s.score(PHQ9, answers_for(PHQ9, total))
    assert (result.total, result.severity, result.flags) == (total, band, ())


def test_phq9_highest_total_is_severe() -> None:
    assert s.score(PHQ9, [3] * 9).severity == "severe"
    assert s.score(PHQ9, [3] * 9).total == 27


@pytest.mark.parametrize(
    ("total", "band"),
    [
        (0, "minimal"),
        (4, "minimal"),
        (5, "mild"),
        (9, "mild"),
        (10, "moderate"),
        (14, "moderate"),
        (15, "severe"),
        (21, "severe"),
    ],
)
def test_gad7_severity_at_every_boundary(total: int, band: str) -> None:
    result = s.score(GAD7, answers_for(GAD7, total, last=min(3, total)))
    assert (result.total, result.severity, result.flags) == (total, band, ())


@pytest.mark.parametrize(("item9", "flagged"), [(0, False), (1, True), (2, True), (3, True)])
def test_phq9_item_9_above_zero_flags_self_harm(item9: int, flagged: bool) -> None:
    result = s.score(PHQ9, [0] * 8 + [item9])
    assert (s.SELF_HARM_FLAG in result.flags) is flagged


def test_gad7_never_flags_self_harm() -> None:
    assert s.score(GAD7, [3] * 7).flags == ()


@pytest.mark.parametrize(
    ("instrument", "answers", "field", "words"),
    [
        (PHQ9, [0] * 8, "answers", "exactly 9"),
        (PHQ9, [0] * 10, "answers", "exactly 9"),
        (GAD7, [], "answers", "exactly 7"),
        (PHQ9, [0, 0, 0, 4, 0, 0, 0, 0, 0], "answers[3]", "Item 4 is out of range"),
        (PHQ9, [0, 0, 0, 0, 0, 0, 0, 0, -1], "answers[8]", "Item 9 is out of range"),
        (GAD7, [0, None, 0, 0, 0, 0, 0], "answers[1]", "Item 2 has no answer"),
        (GAD7, [0, 0, "2", 0, 0, 0, 0], "answers[2]", "Item 3 must be one of 0, 1, 2, 3"),
        (GAD7, [0, 0, 0, 0, True, 0, 0], "answers[4]", "Item 5 must be one of"),
        (GAD7, [0, 0, 0, 0, 0, 1.5, 0], "answers[5]", "Item 6 must be one of"),
    ],
)
def test_bad_answers_are_422_naming_the_item(
    instrument: s.Instrument, answers: list[object], field: str, words: str
) -> None:
    with pytest.raises(s.InvalidAnswers) as caught:
        s.score(instrument, answers)
    assert caught.value.status == 422
    assert list(caught.value.errors) == [field]
    assert words in caught.value.errors[field][0]


def test_every_bad_item_is_named_at_once() -> None:
    with pytest.raises(s.InvalidAnswers) as caught:
        s.score(PHQ9, [9, 0, None, 0, 0, 0, 0, 0, 0])
    assert set(caught.value.errors) == {"answers[0]", "answers[2]"}


def test_unknown_instrument_is_422_naming_the_field() -> None:
    with pytest.raises(s.InvalidAnswers) as caught:
        s.get_instrument("bdi")
    assert "instrument" in caught.value.errors


@pytest.mark.parametrize(
    ("value", "ok"),
    [(None, True), (0, True), (3, True), (4, False), (-1, False), (True, False), ("1", False)],
)
def test_difficulty_is_recorded_in_range_or_refused(value: object, ok: bool) -> None:
    if ok:
        assert s.validate_difficulty(PHQ9, value) == value
    else:
        with pytest.raises(s.InvalidAnswers) as caught:
            s.validate_difficulty(PHQ9, value)
        assert "difficulty" in caught.value.errors


def test_difficulty_does_not_change_the_total() -> None:
    assert s.score(PHQ9, [1] * 9).total == 9


def test_severity_outside_the_range_is_a_bug() -> None:
    with pytest.raises(ValueError):
        s.severity(GAD7, 22)


C = s.ChangeCategory


@pytest.mark.parametrize(
    ("instrument", "baseline", "latest", "category", "response"),
    [
        # PHQ-9: caseness 10, reliable change 6
        (PHQ9, 16, 9, C.RELIABLE_RECOVERY, False),
        (PHQ9, 16, 8, C.RELIABLE_RECOVERY, True),
        (PHQ9, 10, 9, C.RECOVERY, False),
        (PHQ9, 14, 9, C.RECOVERY, False),
        (PHQ9, 20, 14, C.RELIABLE_IMPROVEMENT, False),
        (PHQ9, 20, 10, C.RELIABLE_IMPROVEMENT, True),
        (PHQ9, 20, 15, C.NO_RELIABLE_CHANGE, False),
        (PHQ9, 8, 4, C.NO_RELIABLE_CHANGE, True),
        (PHQ9, 9, 3, C.RELIABLE_IMPROVEMENT, True),
        (PHQ9, 5, 11, C.RELIABLE_DETERIORATION, False),
        (PHQ9, 5, 10, C.NO_RELIABLE_CHANGE, False),
        (PHQ9, 0, 0, C.NO_RELIABLE_CHANGE, False),
        # GAD-7: caseness 8, reliable change 4
        (GAD7, 12, 7, C.RELIABLE_RECOVERY, False),
        (GAD7, 8, 7, C.RECOVERY, False),
        (GAD7, 8, 4, C.RELIABLE_RECOVERY, True),
        (GAD7, 7, 3, C.RELIABLE_IMPROVEMENT, True),
        (GAD7, 15, 11, C.RELIABLE_IMPROVEMENT, False),
        (GAD7, 15, 12, C.NO_RELIABLE_CHANGE, False),
        (GAD7, 3, 7, C.RELIABLE_DETERIORATION, False),
        (GAD7, 3, 6, C.NO_RELIABLE_CHANGE, False),
        (GAD7, 9, 13, C.RELIABLE_DETERIORATION, False),
    ],
)
def test_change_categories(
    instrument: s.Instrument, baseline: int, latest: int, category: s.ChangeCategory, response: bool
) -> None:
    change = s.classify_change(instrument, baseline=baseline, latest=latest)
    assert change.category is category
    assert change.is_response is response
    assert change.delta == latest - baseline


def test_caseness_thresholds_come_from_the_data_with_a_source() -> None:
    assert (PHQ9.thresholds.caseness, PHQ9.thresholds.reliable_change) == (10, 6)
    assert (GAD7.thresholds.caseness, GAD7.thresholds.reliable_change) == (8, 4)
    assert "NHS Talking Therapies" in PHQ9.thresholds.source
    assert PHQ9.thresholds.not_improving_weeks == 8


@pytest.mark.parametrize(
    ("history", "now", "expected"),
    [
        ([(T0, 15)], T0 + timedelta(weeks=10), False),
        ([(T0, 15), (T0 + timedelta(weeks=7), 15)], T0 + timedelta(weeks=7, days=6), False),
        ([(T0, 15), (T0 + timedelta(weeks=8), 14)], T0 + timedelta(weeks=8), True),
        ([(T0 + timedelta(weeks=8), 9), (T0, 15)], T0 + timedelta(weeks=8), False),
        (
            [(T0, 15), (T0 + timedelta(weeks=4), 8), (T0 + timedelta(weeks=9), 12)],
            T0 + timedelta(weeks=9),
            True,
        ),
    ],
)
def test_not_improving_after_eight_weeks(
    history: list[tuple[datetime, int]], now: datetime, expected: bool
) -> None:
    assert s.is_not_improving(PHQ9, history, now=now) is expected


@pytest.mark.parametrize(
    ("cadence", "last", "since", "start", "due"),
    [
        ("off", None, 0, T0, False),
        ("every_session", T0, 0, T0 + timedelta(days=7), True),
        ("every_other", None, 0, T0, True),
        ("every_other", T0, 0, T0 + timedelta(days=7), False),
        ("every_other", T0, 1, T0 + timedelta(days=14), True),
        ("monthly", T0, 3, T0 + timedelta(days=27), False),
        ("monthly", T0, 3, T0 + timedelta(days=28), True),
        ("monthly", None, 0, T0, True),
    ],
)
def test_cadence_says_when_the_questionnaire_is_due(
    cadence: str, last: datetime | None, since: int, start: datetime, due: bool
) -> None:
    assert (
        s.is_due(cadence, last_completed_at=last, sessions_since_last=since, session_start=start)
        is due
    )


def test_instruments_carry_the_published_wording_and_codes() -> None:
    assert (PHQ9.loinc_panel, PHQ9.loinc_total) == ("44249-1", "44261-6")
    assert (GAD7.loinc_panel, GAD7.loinc_total) == ("69737-5", "70274-6")
    assert PHQ9.items[8].text["en"].startswith("Thoughts that you would be better off dead")
    assert PHQ9.items[8].text["es"].startswith("Pensamientos de que estaría mejor muerto(a)")
    assert (
        GAD7.items[0].text["es"]
        == "Se ha sentido nervioso(a), ansioso(a) o con los nervios de punta"
    )
    assert PHQ9.choices[0].text["es"] == "Ningún día"
    assert PHQ9.self_harm_item == 9 and GAD7.self_harm_item is None
    for instrument in s.list_instruments():
        assert "Pfizer" in instrument.source["developed_by"]["en"]
        assert instrument.text(instrument.stem, "fr") == instrument.stem["en"]
        assert instrument.severity_codes[0] == "minimal"


def test_crisis_resources_in_both_languages() -> None:
    codes = [r["code"] for r in s.crisis_resources("es")]
    assert codes == ["988", "911", "samhsa"]
    assert "español" in s.crisis_resources("es")[0]["how"]
    assert s.crisis_resources("xx") == s.crisis_resources("en")
