"""The slot engine: availability windows, bookable slots, the next opening, booking checks.

How slots are laid
------------------
* Weekly rules and overrides are wall-clock times in the therapist's zone and
  are expanded *per local date* by building that date's wall-clock datetimes
  (never by adding 24 h to a previous day). A date with any override uses only
  its overrides; a day-off override removes the date.
* Touching windows of the same setting on the same date merge (09-12 + 12-17
  online is one window 09-17). Windows never cross local midnight, so neither
  does a slot.
* Slots start at the window start and step by ``session + buffer`` minutes
  (``session + buffer + 2 * travel`` for home visits), so any two slots offered
  in one window can both be booked (slots of touching windows in different
  settings may exclude each other: booking one removes the other). A slot must
  end inside its window. The grid is fixed by the window start: a booking
  elsewhere blocks the grid points it overlaps, it does not shift the grid.
* Durations are real elapsed time in UTC. A window spanning the fall-back hour
  is an hour longer in real time (and may hold more slots); one spanning the
  spring-forward gap is an hour shorter.

DST rule for a window edge (see ``availability.local_to_utc``)
--------------------------------------------------------------
* Overlap (fall back, the hour happens twice): the first occurrence (fold=0).
  01:30 on 2026-11-01 in America/New_York is 01:30 EDT.
* Gap (spring forward, the hour does not exist): the first instant after the gap.
  A 02:30-05:00 window on 2026-03-08 in America/New_York starts at 03:00 EDT; a
  window lying entirely in the gap (02:00-03:00) disappears.

Which slots are offered
-----------------------
A slot ``[start, end)`` in setting ``s`` is offered (and ``check_bookable``
accepts it) when, checked in this order:

1. the therapist accepts new clients, or the client is not new  (``not_accepting``)
2. ``start >= now + min_notice_hours``                           (``too_soon``)
3. ``start <= now + horizon_days``                               (``beyond_horizon``)
4. it lies on the grid of an ``s`` window as above               (``outside_availability``)
5. its blocked interval (as ``booking.blocked_interval``: buffer after, travel before
   and after home visits) overlaps no booked session's blocked interval and no
   extra busy interval                                          (``taken``)
6. fewer than ``max_per_day`` sessions already start on its local date
   (``day_cap``), and fewer than ``max_per_week`` in its local ISO week (``week_cap``).

Callers pass the therapist's *active* sessions (``booking.blocks_time``) as
``booked``; when rescheduling, leave out the session being moved.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

from teletherapy.domain.availability import (
    AvailabilitySettings,
    DateOverride,
    WeeklyRule,
    local_to_utc,
)
from teletherapy.domain.errors import ConflictError, Text
from teletherapy.domain.intervals import Interval, normalise

__all__ = [
    "BookedSession",
    "Schedule",
    "Slot",
    "check_bookable",
    "expand_rules",
    "generate_slots",
    "next_opening",
    "next_openings_bulk",
]

K = TypeVar("K", bound=Hashable)
_MIDNIGHT = time(0, 0)
_ONE_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True, order=True)
class Slot:
    """A bookable session: UTC start and end, and its setting."""

    start: datetime
    end: datetime
    setting: str


@dataclass(frozen=True, slots=True)
class BookedSession:
    """An active session already on the therapist's calendar (UTC start and end)."""

    start: datetime
    end: datetime
    setting: str


@dataclass(frozen=True, slots=True)
class Schedule:
    """Everything the engine needs about one therapist (used by next_openings_bulk)."""

    settings: AvailabilitySettings
    rules: Sequence[WeeklyRule]
    overrides: Sequence[DateOverride] = ()
    booked: Sequence[BookedSession] = ()
    busy: Sequence[Interval] = ()


def expand_rules(
    rules: Sequence[WeeklyRule],
    overrides: Sequence[DateOverride],
    zone: ZoneInfo | str,
    from_date: date,
    to_date: date,
    setting: str | None = None,
) -> list[tuple[Interval, str]]:
    """Availability windows for local dates `from_date`..`to_date` inclusive, sorted by start."""
    tz = zone if isinstance(zone, ZoneInfo) else ZoneInfo(zone)
    calendar = _Calendar(rules, overrides, tz)
    windows: list[tuple[Interval, str]] = []
    day = from_date
    while day <= to_date:
        windows.extend(calendar.windows(day, setting))
        day += _ONE_DAY
    return windows


def generate_slots(
    schedule: Schedule,
    now: datetime,
    from_date: date,
    to_date: date,
    setting: str | None = None,
    *,
    is_new_client: bool = False,
) -> list[Slot]:
    """Every offered slot starting on local dates `from_date`..`to_date` (inclusive), sorted."""
    engine = _Engine.of(schedule, now)
    return list(engine.slots(from_date, to_date, setting, is_new_client=is_new_client))


def next_opening(
    schedule: Schedule,
    now: datetime,
    setting: str | None = None,
    *,
    is_new_client: bool = False,
) -> Slot | None:
    """The earliest offered slot, or None; scans day by day and stops at the first."""
    engine = _Engine.of(schedule, now)
    first, last = engine.date_range()
    return next(engine.slots(first, last, setting, is_new_client=is_new_client), None)


def first_opening_where(
    schedule: Schedule,
    now: datetime,
    fits: Callable[[datetime], bool],
    setting: str | None = None,
    *,
    is_new_client: bool = False,
    may_fit: Callable[[datetime, datetime], bool] | None = None,
) -> Slot | None:
    """The earliest offered slot whose start `fits` (a client's preferred days and times).

    `may_fit(start, end)` is an optional cheap test of a whole availability window: when
    it says no start in [start, end) can fit, the window's slots are not laid at all. It
    may say yes wrongly (`fits` still decides), never no wrongly.
    """
    engine = _Engine.of(schedule, now)
    first, last = engine.date_range()
    return next(
        (
            slot
            for slot in engine.slots(
                first, last, setting, is_new_client=is_new_client, may_fit=may_fit
            )
            if fits(slot.start)
        ),
        None,
    )


def next_openings_bulk(
    schedules: Mapping[K, Schedule],
    now: datetime,
    setting: str | None = None,
    *,
    is_new_client: bool = False,
) -> dict[K, Slot | None]:
    """next_opening for many therapists at once, keyed like `schedules`."""
    return {
        key: next_opening(schedule, now, setting, is_new_client=is_new_client)
        for key, schedule in schedules.items()
    }


def check_bookable(
    schedule: Schedule,
    now: datetime,
    start: datetime,
    setting: str,
    *,
    is_new_client: bool = False,
) -> None:
    """Raise ConflictError(extra={"reason": ...}) unless `start` is a slot the engine offers."""
    engine = _Engine.of(schedule, now)
    reason = engine.refusal(start.astimezone(UTC), setting, is_new_client=is_new_client)
    if reason is not None:
        raise ConflictError(_explain(reason, schedule.settings, setting), extra={"reason": reason})


# --- internals ----------------------------------------------------------------


class _Calendar:
    """Rules indexed by weekday and overrides by date, expanded one local date at a time."""

    def __init__(
        self, rules: Sequence[WeeklyRule], overrides: Sequence[DateOverride], zone: ZoneInfo
    ) -> None:
        self.zone = zone
        self.by_weekday: dict[int, list[tuple[time, time, str]]] = defaultdict(list)
        for rule in rules:
            self.by_weekday[rule.weekday].append((rule.start, rule.end, rule.setting))
        self.by_date: dict[date, list[tuple[time, time, str]]] = defaultdict(list)
        for override in overrides:
            hours = self.by_date[override.on]  # a day off leaves the date present and empty
            start, end, kind = override.start, override.end, override.setting
            if override.available and start is not None and end is not None and kind is not None:
                hours.append((start, end, kind))

    def has_any_hours(self) -> bool:
        return any(self.by_weekday.values()) or any(self.by_date.values())

    def windows(self, day: date, setting: str | None) -> list[tuple[Interval, str]]:
        hours = self.by_date[day] if day in self.by_date else self.by_weekday.get(day.weekday())
        if not hours:
            return []
        result: list[tuple[Interval, str]] = []
        for start_at, end_at, kind in sorted(hours, key=lambda item: item[0]):
            if setting is not None and kind != setting:
                continue
            start = local_to_utc(day, start_at, self.zone)
            if end_at == _MIDNIGHT:
                end = local_to_utc(day + _ONE_DAY, _MIDNIGHT, self.zone)
            else:
                end = local_to_utc(day, end_at, self.zone)
            if start >= end:  # the whole window fell into a DST gap
                continue
            if result and result[-1][1] == kind and result[-1][0].end == start:
                result[-1] = (Interval(result[-1][0].start, end), kind)
            else:
                result.append((Interval(start, end), kind))
        return result


class _Engine:
    """One therapist's calendar prepared once (indexes, blocked time, counts) for many queries."""

    @classmethod
    def of(cls, schedule: Schedule, now: datetime) -> _Engine:
        return cls(
            schedule.settings,
            schedule.rules,
            schedule.overrides,
            schedule.booked,
            schedule.busy,
            now,
        )

    def __init__(
        self,
        settings: AvailabilitySettings,
        rules: Sequence[WeeklyRule],
        overrides: Sequence[DateOverride],
        booked: Sequence[BookedSession],
        busy: Sequence[Interval],
        now: datetime,
    ) -> None:
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        self.settings = settings
        self.zone = settings.zone
        self.calendar = _Calendar(rules, overrides, self.zone)
        self.session = timedelta(minutes=settings.session_minutes)
        self.earliest = now.astimezone(UTC) + timedelta(hours=settings.min_notice_hours)
        self.latest = now.astimezone(UTC) + timedelta(days=settings.horizon_days)
        # The padding of booking.blocked_interval, computed once (tests check they agree).
        buffer = timedelta(minutes=settings.buffer_minutes)
        travel = timedelta(minutes=settings.travel_buffer_minutes)
        self.pad_before = {"home": travel}
        self.pad_after = {"home": buffer + travel}
        self.default_pad_after = buffer
        no_pad = timedelta(0)
        blocked = normalise(
            [
                Interval(
                    item.start - self.pad_before.get(item.setting, no_pad),
                    item.end + self.pad_after.get(item.setting, buffer),
                )
                for item in booked
            ]
            + list(busy)
        )
        # Parallel lists for a bisect without building an Interval per candidate.
        self.blocked_starts = [item.start for item in blocked]
        self.blocked_ends = [item.end for item in blocked]
        self.per_day: Counter[date] = Counter()
        self.per_week: Counter[tuple[int, int]] = Counter()
        if settings.max_per_day is not None or settings.max_per_week is not None:
            for item in booked:
                local_day = item.start.astimezone(self.zone).date()
                self.per_day[local_day] += 1
                self.per_week[_iso_week(local_day)] += 1

    def date_range(self) -> tuple[date, date]:
        """Local dates that can hold an offered slot: from earliest notice to the horizon."""
        return (
            self.earliest.astimezone(self.zone).date(),
            self.latest.astimezone(self.zone).date(),
        )

    def step(self, setting: str) -> timedelta:
        travel = self.settings.travel_buffer_minutes if setting == "home" else 0
        return timedelta(minutes=self.settings.buffer_minutes + 2 * travel) + self.session

    def is_free(self, start: datetime, setting: str) -> bool:
        """True when this session's blocked interval (as booking.blocked_interval) is clear."""
        block_start = start - self.pad_before.get(setting, timedelta(0))
        block_end = start + self.session + self.pad_after.get(setting, self.default_pad_after)
        # The only candidate is the last blocked interval starting before block_end.
        index = bisect_left(self.blocked_starts, block_end) - 1
        return index < 0 or self.blocked_ends[index] <= block_start

    def cap_reason(self, day: date) -> str | None:
        cap_day, cap_week = self.settings.max_per_day, self.settings.max_per_week
        if cap_day is not None and self.per_day[day] >= cap_day:
            return "day_cap"
        if cap_week is not None and self.per_week[_iso_week(day)] >= cap_week:
            return "week_cap"
        return None

    def slots(
        self,
        from_date: date,
        to_date: date,
        setting: str | None,
        *,
        is_new_client: bool,
        may_fit: Callable[[datetime, datetime], bool] | None = None,
    ) -> Iterator[Slot]:
        if is_new_client and not self.settings.accepting_new_clients:
            return
        if not self.calendar.has_any_hours():
            return
        first, last = self.date_range()
        day, to_date = max(from_date, first), min(to_date, last)
        while day <= to_date:
            if self.cap_reason(day) is None and (
                may_fit is None or self._day_may_fit(day, may_fit)
            ):
                yield from self._day_slots(day, setting, may_fit)
            day += _ONE_DAY

    def _day_may_fit(self, day: date, may_fit: Callable[[datetime, datetime], bool]) -> bool:
        """Whether any window of this local date could fit: windows never cross local
        midnight, so the whole date is asked before its windows are built."""
        return may_fit(
            datetime.combine(day, time(0), tzinfo=self.zone),
            datetime.combine(day + _ONE_DAY, time(0), tzinfo=self.zone),
        )

    def _day_slots(
        self,
        day: date,
        setting: str | None,
        may_fit: Callable[[datetime, datetime], bool] | None = None,
    ) -> Iterator[Slot]:
        for window, kind in self.calendar.windows(day, setting):
            if window.end <= self.earliest:
                continue
            if may_fit is not None and not may_fit(window.start, window.end):
                continue
            step = self.step(kind)
            start = window.start
            if start < self.earliest:  # jump straight to the first grid point after notice
                start += step * -((start - self.earliest) // step)
            while start + self.session <= window.end and start <= self.latest:
                if self.is_free(start, kind):
                    yield Slot(start, start + self.session, kind)
                start += step

    def refusal(self, start: datetime, setting: str, *, is_new_client: bool) -> str | None:
        if is_new_client and not self.settings.accepting_new_clients:
            return "not_accepting"
        if start < self.earliest:
            return "too_soon"
        if start > self.latest:
            return "beyond_horizon"
        day = start.astimezone(self.zone).date()
        if not self._on_grid(day, start, setting):
            return "outside_availability"
        if not self.is_free(start, setting):
            return "taken"
        return self.cap_reason(day)

    def _on_grid(self, day: date, start: datetime, setting: str) -> bool:
        for window, _ in self.calendar.windows(day, setting):
            if window.start <= start and start + self.session <= window.end:
                return (start - window.start) % self.step(setting) == timedelta(0)
        return False


def _iso_week(day: date) -> tuple[int, int]:
    year, week, _ = day.isocalendar()
    return year, week


def _explain(reason: str, settings: AvailabilitySettings, setting: str) -> str:
    offers = {
        "online": Text("The therapist does not offer an online session starting at that time."),
        "in_office": Text(
            "The therapist does not offer an in-office session starting at that time."
        ),
        "home": Text("The therapist does not offer a home-visit session starting at that time."),
    }
    messages: dict[str, str] = {
        "not_accepting": Text("This therapist is not accepting new clients at the moment."),
        "too_soon": Text(
            "Sessions must be booked at least %(hours)d hours in advance.",
            hours=settings.min_notice_hours,
        ),
        "beyond_horizon": Text(
            "Sessions can be booked at most %(days)d days in advance.",
            days=settings.horizon_days,
        ),
        "outside_availability": offers.get(
            setting, Text("The therapist does not offer that kind of session at that time.")
        ),
        "taken": Text("That time is no longer available; please choose another slot."),
        "day_cap": Text("The therapist's sessions for that day are fully booked."),
        "week_cap": Text("The therapist's sessions for that week are fully booked."),
    }
    return messages[reason]
