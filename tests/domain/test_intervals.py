"""Tables and properties for the half-open interval algebra."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from teletherapy.domain.intervals import (
    Interval,
    clip,
    intersect,
    normalise,
    overlaps,
    overlaps_any,
    subtract,
)

BASE = datetime(2026, 3, 8, tzinfo=UTC)


def at(minute: int) -> datetime:
    return BASE + timedelta(minutes=minute)


def iv(start: int, end: int) -> Interval:
    return Interval(at(start), at(end))


def ivs(*pairs: tuple[int, int]) -> list[Interval]:
    return [iv(start, end) for start, end in pairs]


def test_an_interval_refuses_naive_datetimes() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        Interval(datetime(2026, 1, 1, 9), datetime(2026, 1, 1, 10, tzinfo=UTC))


@pytest.mark.parametrize(("start", "end"), [(10, 10), (10, 9)])
def test_an_interval_must_not_be_empty(start: int, end: int) -> None:
    with pytest.raises(ValueError, match="start < end"):
        iv(start, end)


def test_an_interval_stores_other_zones_as_utc() -> None:
    kolkata = ZoneInfo("Asia/Kolkata")
    interval = Interval(
        datetime(2026, 3, 9, 9, 0, tzinfo=kolkata), datetime(2026, 3, 9, 10, tzinfo=kolkata)
    )
    assert interval.start == datetime(2026, 3, 9, 3, 30, tzinfo=UTC)
    assert interval.start.tzinfo is UTC
    assert interval == Interval(
        datetime(2026, 3, 9, 3, 30, tzinfo=timezone.utc),  # noqa: UP017 - another UTC object
        datetime(2026, 3, 9, 4, 30, tzinfo=UTC),
    )
    assert interval.duration == timedelta(hours=1)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ((0, 10), (10, 20), False),  # touching ends do not overlap
        ((0, 10), (9, 20), True),
        ((0, 30), (10, 20), True),  # containment
        ((10, 20), (0, 30), True),
        ((0, 10), (20, 30), False),
        ((0, 10), (0, 10), True),
    ],
)
def test_overlap_table(a: tuple[int, int], b: tuple[int, int], expected: bool) -> None:
    assert overlaps(iv(*a), iv(*b)) is expected
    assert overlaps(iv(*b), iv(*a)) is expected


def test_contains_is_half_open() -> None:
    assert iv(0, 10).contains(at(0))
    assert not iv(0, 10).contains(at(10))
    assert iv(0, 10).covers(iv(0, 10))
    assert not iv(0, 10).covers(iv(5, 11))


@pytest.mark.parametrize(
    ("given_", "expected"),
    [
        ([], []),
        ([(0, 10), (10, 20)], [(0, 20)]),  # touching merges
        ([(20, 30), (0, 10)], [(0, 10), (20, 30)]),  # sorted
        ([(0, 30), (5, 10), (25, 40)], [(0, 40)]),
        ([(0, 10), (0, 10)], [(0, 10)]),
    ],
)
def test_normalise_table(given_: list[tuple[int, int]], expected: list[tuple[int, int]]) -> None:
    assert normalise(ivs(*given_)) == ivs(*expected)


@pytest.mark.parametrize(
    ("base", "remove", "expected"),
    [
        ([(0, 60)], [], [(0, 60)]),
        ([(0, 60)], [(10, 20)], [(0, 10), (20, 60)]),
        ([(0, 60)], [(0, 60)], []),
        ([(0, 60)], [(-10, 10), (50, 70)], [(10, 50)]),
        ([(0, 60)], [(60, 70)], [(0, 60)]),  # touching removes nothing
        ([(0, 10), (20, 30)], [(5, 25)], [(0, 5), (25, 30)]),
        ([(0, 60)], [(10, 20), (15, 30), (40, 45)], [(0, 10), (30, 40), (45, 60)]),
    ],
)
def test_subtract_table(
    base: list[tuple[int, int]], remove: list[tuple[int, int]], expected: list[tuple[int, int]]
) -> None:
    assert subtract(ivs(*base), ivs(*remove)) == ivs(*expected)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ([(0, 60)], [(30, 90)], [(30, 60)]),
        ([(0, 10)], [(10, 20)], []),
        ([(0, 10), (20, 30)], [(5, 25)], [(5, 10), (20, 25)]),
        ([(0, 100)], [(10, 20), (30, 40)], [(10, 20), (30, 40)]),
    ],
)
def test_intersect_table(
    a: list[tuple[int, int]], b: list[tuple[int, int]], expected: list[tuple[int, int]]
) -> None:
    assert intersect(ivs(*a), ivs(*b)) == ivs(*expected)


@pytest.mark.parametrize(
    ("interval", "window", "expected"),
    [
        ((0, 60), (30, 90), (30, 60)),
        ((0, 60), (60, 90), None),
        ((10, 20), (0, 100), (10, 20)),
    ],
)
def test_clip_table(
    interval: tuple[int, int], window: tuple[int, int], expected: tuple[int, int] | None
) -> None:
    assert clip(iv(*interval), iv(*window)) == (iv(*expected) if expected else None)


@pytest.mark.parametrize(
    ("probe", "expected"),
    [((0, 10), False), ((10, 20), True), ((20, 30), False), ((25, 45), True), ((45, 50), False)],
)
def test_overlaps_any_uses_the_sorted_list(probe: tuple[int, int], expected: bool) -> None:
    assert overlaps_any(iv(*probe), ivs((10, 20), (30, 40))) is expected


# --- properties ---------------------------------------------------------------

spans = st.tuples(st.integers(0, 200), st.integers(1, 60)).map(lambda p: iv(p[0], p[0] + p[1]))
span_lists = st.lists(spans, max_size=8)


def minutes(intervals: list[Interval]) -> set[int]:
    covered: set[int] = set()
    for item in intervals:
        first = (item.start - BASE) // timedelta(minutes=1)
        last = (item.end - BASE) // timedelta(minutes=1)
        covered.update(range(first, last))
    return covered


def is_disjoint_sorted(intervals: list[Interval]) -> bool:
    return all(a.end < b.start for a, b in itertools.pairwise(intervals))


@settings(max_examples=150)
@given(span_lists)
def test_normalise_keeps_the_same_instants_in_disjoint_sorted_pieces(items: list[Interval]) -> None:
    result = normalise(items)
    assert minutes(result) == minutes(items)
    assert is_disjoint_sorted(result)
    assert normalise(result) == result


@settings(max_examples=150)
@given(span_lists, span_lists)
def test_subtract_and_intersect_partition_the_base(a: list[Interval], b: list[Interval]) -> None:
    rest, common = subtract(a, b), intersect(a, b)
    assert minutes(rest) == minutes(a) - minutes(b)
    assert minutes(common) == minutes(a) & minutes(b)
    assert is_disjoint_sorted(rest)
    assert is_disjoint_sorted(common)
    assert intersect(a, b) == intersect(b, a)


@settings(max_examples=150)
@given(spans, span_lists)
def test_overlaps_any_agrees_with_checking_each_one(probe: Interval, items: list[Interval]) -> None:
    merged = normalise(items)
    assert overlaps_any(probe, merged) is any(probe.overlaps(item) for item in merged)


@settings(max_examples=100)
@given(spans, spans)
def test_clip_is_the_intersection_of_two_intervals(a: Interval, b: Interval) -> None:
    clipped = clip(a, b)
    assert ([clipped] if clipped else []) == intersect([a], [b])
