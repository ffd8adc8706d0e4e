"""Half-open UTC intervals [start, end) and their algebra: normalise, subtract, intersect, clip."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

__all__ = [
    "Interval",
    "clip",
    "intersect",
    "normalise",
    "overlaps",
    "overlaps_any",
    "subtract",
]


@dataclass(frozen=True, slots=True, order=True)
class Interval:
    """A non-empty half-open span of time [start, end), stored in UTC.

    Both ends must be timezone-aware; they are converted to UTC so that equal
    instants compare, hash and print alike whatever zone they came in.
    """

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is UTC and self.end.tzinfo is UTC and self.start < self.end:
            return  # the common case, kept cheap: the slot engine builds many of these
        for name in ("start", "end"):
            value: datetime = getattr(self, name)
            if value.tzinfo is None or value.utcoffset() is None:
                raise ValueError(f"Interval.{name} must be timezone-aware, got {value!r}")
            if value.tzinfo is not UTC:
                object.__setattr__(self, name, value.astimezone(UTC))
        if not self.start < self.end:
            raise ValueError(f"Interval needs start < end, got {self.start} .. {self.end}")

    @property
    def duration(self) -> timedelta:
        return self.end - self.start

    def overlaps(self, other: Interval) -> bool:
        """True when the two share any instant (touching ends do not overlap)."""
        return self.start < other.end and other.start < self.end

    def contains(self, instant: datetime) -> bool:
        return self.start <= instant < self.end

    def covers(self, other: Interval) -> bool:
        return self.start <= other.start and other.end <= self.end


def overlaps(a: Interval, b: Interval) -> bool:
    """True when `a` and `b` share any instant; [9, 10) and [10, 11) do not."""
    return a.overlaps(b)


def normalise(intervals: Iterable[Interval]) -> list[Interval]:
    """Sort and merge overlapping or touching intervals into a disjoint, sorted list."""
    result: list[Interval] = []
    for item in sorted(intervals):
        if result and item.start <= result[-1].end:
            if item.end > result[-1].end:
                result[-1] = Interval(result[-1].start, item.end)
        else:
            result.append(item)
    return result


def subtract(base: Iterable[Interval], remove: Iterable[Interval]) -> list[Interval]:
    """The parts of `base` not covered by any of `remove`, normalised."""
    removals = normalise(remove)
    result: list[Interval] = []
    for piece in normalise(base):
        cursor = piece.start
        for cut in removals:
            if cut.end <= cursor:
                continue
            if cut.start >= piece.end:
                break
            if cut.start > cursor:
                result.append(Interval(cursor, cut.start))
            cursor = max(cursor, cut.end)
            if cursor >= piece.end:
                break
        if cursor < piece.end:
            result.append(Interval(cursor, piece.end))
    return result


def intersect(a: Iterable[Interval], b: Iterable[Interval]) -> list[Interval]:
    """The instants that lie in both `a` and `b`, normalised."""
    left, right = normalise(a), normalise(b)
    result: list[Interval] = []
    i = j = 0
    while i < len(left) and j < len(right):
        start = max(left[i].start, right[j].start)
        end = min(left[i].end, right[j].end)
        if start < end:
            result.append(Interval(start, end))
        if left[i].end < right[j].end:
            i += 1
        else:
            j += 1
    return result


def clip(interval: Interval, window: Interval) -> Interval | None:
    """The part of `interval` inside `window`, or None when they do not overlap."""
    start = max(interval.start, window.start)
    end = min(interval.end, window.end)
    return Interval(start, end) if start < end else None


def overlaps_any(interval: Interval, disjoint_sorted: Sequence[Interval]) -> bool:
    """True when `interval` overlaps any member of a normalised list (O(log n) via bisect)."""
    # The only candidate is the last member starting before interval.end.
    index = bisect_left(disjoint_sorted, interval.end, key=lambda item: item.start) - 1
    return index >= 0 and disjoint_sorted[index].end > interval.start
