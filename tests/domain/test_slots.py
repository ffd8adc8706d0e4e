"""Tables and properties for the slot engine: DST, notice, last slots, buffers, caps, checks."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from teletherapy.domain.availability import (
    SETTINGS,
    AvailabilitySettings,
    DateOverride,
    WeeklyRule,
    days_off,
    validate_availability,
)
from teletherapy.domain.booking import blocked_interval
from teletherapy.domain.errors import ConflictError
from teletherapy.domain.intervals import Interval
from teletherapy.domain.slots import (
    BookedSession,
    Schedule,
    Slot,
    check_bookable,
    expand_rules,
    generate_slots,
    next_opening,
    next_openings_bulk,
)

NY = "America/New_York"
LONDON = "Europe/London"
KOLKATA = "Asia/Kolkata"
LONG_AGO = datetime(2026, 1, 1, tzinfo=UTC)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def local(zone: str, year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A wall-clock time in `zone` (fold=0), as UTC."""
    return datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(zone)).astimezone(UTC)


def every_day(start: time, end: time, setting: str = "online") -> list[WeeklyRule]:
    return [WeeklyRule(weekday, start, end, setting) for weekday in range(7)]


def open_settings(zone: str, **changes: int | None) -> AvailabilitySettings:
    """No notice and a long horizon, so tables far from `now` are not cut."""
    values: dict[str, int | None] = {"min_notice_hours": 0, "horizon_days": 365}
    values.update(changes)
    return AvailabilitySettings(zone, **values)  # type: ignore[arg-type]


def starts_on(
    settings_: AvailabilitySettings,
    rules: list[WeeklyRule],
    on: date,
    *,
    overrides: list[DateOverride] | None = None,
    booked: list[BookedSession] | None = None,
    busy: list[Interval] | None = None,
    setting: str | None = None,
    now: datetime = LONG_AGO,
) -> list[datetime]:
    slots = generate_slots(
        Schedule(settings_, rules, overrides or [], booked or [], busy=busy or []),
        now,
        on,
        on,
        setting,
    )
    return [slot.start for slot in slots]


# --- DST weeks and half-hour zones ------------------------------------------------

NINE_TO_NOON = every_day(time(9), time(12))


@pytest.mark.parametrize(
    ("zone", "on", "expected"),
    [
        pytest.param(
            NY, date(2026, 3, 6), [utc(2026, 3, 6, h) for h in (14, 15, 16)], id="ny-fri-est"
        ),
        pytest.param(
            NY, date(2026, 3, 8), [utc(2026, 3, 8, h) for h in (13, 14, 15)], id="ny-change-day"
        ),
        pytest.param(
            NY, date(2026, 3, 9), [utc(2026, 3, 9, h) for h in (13, 14, 15)], id="ny-mon-edt"
        ),
        pytest.param(
            NY, date(2026, 10, 30), [utc(2026, 10, 30, h) for h in (13, 14, 15)], id="ny-fri-edt"
        ),
        pytest.param(
            NY,
            date(2026, 11, 1),
            [utc(2026, 11, 1, h) for h in (14, 15, 16)],
            id="ny-fall-back-day",
        ),
        pytest.param(
            NY, date(2026, 11, 2), [utc(2026, 11, 2, h) for h in (14, 15, 16)], id="ny-mon-est"
        ),
        pytest.param(
            LONDON, date(2026, 3, 27), [utc(2026, 3, 27, h) for h in (9, 10, 11)], id="london-gmt"
        ),
        pytest.param(
            LONDON, date(2026, 3, 30), [utc(2026, 3, 30, h) for h in (8, 9, 10)], id="london-bst"
        ),
        pytest.param(
            LONDON,
            date(2026, 10, 23),
            [utc(2026, 10, 23, h) for h in (8, 9, 10)],
            id="london-bst-end",
        ),
        pytest.param(
            LONDON,
            date(2026, 10, 26),
            [utc(2026, 10, 26, h) for h in (9, 10, 11)],
            id="london-gmt-again",
        ),
        pytest.param(
            KOLKATA,
            date(2026, 3, 8),
            [utc(2026, 3, 8, 3, 30), utc(2026, 3, 8, 4, 30), utc(2026, 3, 8, 5, 30)],
            id="kolkata-plus-0530",
        ),
    ],
)
def test_spring_forward_and_fall_back_keep_nine_am_local(
    zone: str, on: date, expected: list[datetime]
) -> None:
    assert starts_on(open_settings(zone), NINE_TO_NOON, on) == expected


@pytest.mark.parametrize(
    ("zone", "on", "start", "end", "expected"),
    [
        pytest.param(
            NY,
            date(2026, 3, 8),
            time(1),
            time(4),
            [utc(2026, 3, 8, 6), utc(2026, 3, 8, 7)],
            id="ny-window-across-gap-is-two-real-hours",
        ),
        pytest.param(
            NY,
            date(2026, 3, 8),
            time(2, 30),
            time(5),
            [utc(2026, 3, 8, 7), utc(2026, 3, 8, 8)],
            id="ny-start-in-gap-becomes-three-am",
        ),
        pytest.param(
            NY, date(2026, 3, 8), time(2), time(3), [], id="ny-window-inside-gap-vanishes"
        ),
        pytest.param(
            NY,
            date(2026, 11, 1),
            time(0),
            time(3),
            [utc(2026, 11, 1, h) for h in (4, 5, 6, 7)],
            id="ny-window-across-overlap-is-four-real-hours",
        ),
        pytest.param(
            NY,
            date(2026, 11, 1),
            time(1, 30),
            time(2, 30),
            [utc(2026, 11, 1, 5, 30), utc(2026, 11, 1, 6, 30)],
            id="ny-start-in-overlap-is-first-occurrence",
        ),
        pytest.param(
            LONDON,
            date(2026, 10, 25),
            time(0, 30),
            time(2, 30),
            [utc(2026, 10, 24, 23, 30), utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 1, 30)],
            id="london-overlap-day-starts-the-previous-utc-day",
        ),
        pytest.param(
            LONDON,
            date(2026, 3, 29),
            time(0, 30),
            time(3),
            [utc(2026, 3, 29, 0, 30)],
            id="london-gap-leaves-ninety-minutes",
        ),
    ],
)
def test_dst_gap_and_overlap_windows(
    zone: str, on: date, start: time, end: time, expected: list[datetime]
) -> None:
    rules = [WeeklyRule(6, start, end, "online")]  # both change days are Sundays
    assert starts_on(open_settings(zone), rules, on) == expected


def test_expand_rules_builds_each_date_from_its_own_wall_clock() -> None:
    windows = expand_rules(
        [WeeklyRule(5, time(9), time(12), "online"), WeeklyRule(6, time(9), time(12), "home")],
        [],
        NY,
        date(2026, 3, 7),
        date(2026, 3, 8),
    )
    assert windows == [
        (Interval(utc(2026, 3, 7, 14), utc(2026, 3, 7, 17)), "online"),
        (Interval(utc(2026, 3, 8, 13), utc(2026, 3, 8, 16)), "home"),
    ]


def test_expand_rules_merges_touching_windows_of_one_setting_only() -> None:
    rules = [
        WeeklyRule(0, time(9), time(12), "online"),
        WeeklyRule(0, time(12), time(14), "online"),
        WeeklyRule(0, time(14), time(16), "home"),
    ]
    windows = expand_rules(rules, [], ZoneInfo(KOLKATA), date(2026, 3, 9), date(2026, 3, 9))
    assert windows == [
        (Interval(local(KOLKATA, 2026, 3, 9, 9), local(KOLKATA, 2026, 3, 9, 14)), "online"),
        (Interval(local(KOLKATA, 2026, 3, 9, 14), local(KOLKATA, 2026, 3, 9, 16)), "home"),
    ]
    only_home = expand_rules(rules, [], KOLKATA, date(2026, 3, 9), date(2026, 3, 9), "home")
    assert [kind for _, kind in only_home] == ["home"]


# --- last slot of a day, overnight ---------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "session", "buffer", "expected_hours"),
    [
        (time(9), time(17), 50, 10, [9, 10, 11, 12, 13, 14, 15, 16]),
        (time(9), time(16, 50), 50, 10, [9, 10, 11, 12, 13, 14, 15, 16]),  # ends exactly at end
        (time(9), time(16, 49), 50, 10, [9, 10, 11, 12, 13, 14, 15]),  # one minute short
        (time(9), time(17), 45, 15, [9, 10, 11, 12, 13, 14, 15, 16]),
        (time(9), time(17), 90, 30, [9, 11, 13, 15]),
        (time(20), time(0), 50, 10, [20, 21, 22, 23]),  # until midnight
        (time(9), time(9, 50), 50, 0, [9]),
        (time(9), time(9, 49), 50, 0, []),
    ],
)
def test_the_last_slot_of_a_day_ends_inside_the_window(
    start: time, end: time, session: int, buffer: int, expected_hours: list[int]
) -> None:
    settings_ = open_settings(NY, session_minutes=session, buffer_minutes=buffer)
    on = date(2026, 5, 5)
    got = starts_on(settings_, [WeeklyRule(1, start, end, "online")], on)
    assert got == [local(NY, 2026, 5, 5, hour) for hour in expected_hours]


def test_an_overnight_range_is_two_rules_and_no_slot_straddles_midnight() -> None:
    rules = [WeeklyRule(0, time(22), time(0), "online"), WeeklyRule(1, time(0), time(1), "online")]
    slots = generate_slots(
        Schedule(open_settings(LONDON), rules, [], []), LONG_AGO, date(2026, 5, 4), date(2026, 5, 5)
    )
    assert [slot.start for slot in slots] == [
        local(LONDON, 2026, 5, 4, 22),
        local(LONDON, 2026, 5, 4, 23),
        local(LONDON, 2026, 5, 5, 0),
    ]


# --- minimum notice and horizon --------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "now", "notice_hours", "expected"),
    [
        pytest.param(
            NY, utc(2026, 3, 2, 14, 30), 24, utc(2026, 3, 3, 15), id="half-past-nine-skips-nine"
        ),
        pytest.param(
            NY, utc(2026, 3, 2, 14, 0), 24, utc(2026, 3, 3, 14), id="exactly-on-the-boundary"
        ),
        pytest.param(
            NY, utc(2026, 3, 2, 17, 0), 24, utc(2026, 3, 4, 14), id="noon-rolls-to-the-day-after"
        ),
        pytest.param(
            NY, utc(2026, 3, 3, 4, 30), 10, utc(2026, 3, 3, 15), id="late-evening-crosses-midnight"
        ),
        pytest.param(
            NY, utc(2026, 3, 7, 14, 30), 24, utc(2026, 3, 8, 15), id="notice-across-spring-forward"
        ),
        pytest.param(
            KOLKATA, utc(2026, 3, 2, 3, 30), 0, utc(2026, 3, 2, 3, 30), id="kolkata-no-notice"
        ),
        pytest.param(
            KOLKATA,
            utc(2026, 3, 1, 22, 0),
            6,
            utc(2026, 3, 2, 4, 30),
            id="kolkata-local-date-ahead-of-utc",
        ),
    ],
)
def test_minimum_notice_at_a_day_boundary(
    zone: str, now: datetime, notice_hours: int, expected: datetime
) -> None:
    settings_ = AvailabilitySettings(zone, min_notice_hours=notice_hours)
    slot = next_opening(Schedule(settings_, NINE_TO_NOON, [], []), now)
    assert slot is not None
    assert slot.start == expected


def test_no_slot_starts_beyond_the_horizon() -> None:
    settings_ = AvailabilitySettings(NY, min_notice_hours=0, horizon_days=2)
    now = utc(2026, 5, 4, 14, 30)  # Mon 10:30 EDT; horizon ends Wed 10:30 EDT
    slots = generate_slots(
        Schedule(settings_, NINE_TO_NOON, [], []), now, date(2026, 5, 1), date(2026, 5, 30)
    )
    assert slots[0].start == local(NY, 2026, 5, 4, 11)
    assert slots[-1].start == local(NY, 2026, 5, 6, 10)
    assert len(slots) == 1 + 3 + 2


# --- busy time and buffers --------------------------------------------------------------


def booked_at(
    hour: int, minute: int = 0, setting: str = "online", length: int = 50
) -> BookedSession:
    start = local(NY, 2026, 5, 5, hour, minute)
    return BookedSession(start, start + timedelta(minutes=length), setting)


@pytest.mark.parametrize(
    ("window", "setting", "booked", "busy", "expected_local"),
    [
        ((9, 12), "online", [booked_at(10)], [], [(9, 0), (11, 0)]),
        ((9, 12), "online", [booked_at(8)], [], [(9, 0), (10, 0), (11, 0)]),  # buffer ends at 9
        ((9, 12), "online", [booked_at(8, 10)], [], [(10, 0), (11, 0)]),  # buffer until 9:10
        (
            (9, 17),
            "online",
            [booked_at(13, setting="home")],  # blocks 12:30-14:20 with travel
            [],
            [(9, 0), (10, 0), (11, 0), (15, 0), (16, 0)],
        ),
        ((9, 17), "home", [], [], [(9, 0), (11, 0), (13, 0), (15, 0)]),  # step 50+10+2*30
        ((9, 17), "home", [booked_at(11)], [], [(9, 0), (13, 0), (15, 0)]),
        ((9, 17), "home", [booked_at(12, 10)], [], [(9, 0), (15, 0)]),  # travel before 13:00
        (
            (9, 12),
            "online",
            [],
            [Interval(local(NY, 2026, 5, 5, 11, 30), local(NY, 2026, 5, 5, 11, 45))],
            [(9, 0), (10, 0)],
        ),
        (
            (9, 12),
            "online",
            [],
            [Interval(local(NY, 2026, 5, 5, 10, 55), local(NY, 2026, 5, 5, 11))],  # in the buffer
            [(9, 0), (11, 0)],
        ),
    ],
)
def test_slots_keep_clear_of_busy_time_and_buffers(
    window: tuple[int, int],
    setting: str,
    booked: list[BookedSession],
    busy: list[Interval],
    expected_local: list[tuple[int, int]],
) -> None:
    rules = [WeeklyRule(1, time(window[0]), time(window[1]), setting)]
    got = starts_on(open_settings(NY), rules, date(2026, 5, 5), booked=booked, busy=busy)
    assert got == [local(NY, 2026, 5, 5, hour, minute) for hour, minute in expected_local]


# --- overrides ---------------------------------------------------------------------------

WEEKDAYS_ONLINE = [WeeklyRule(weekday, time(9), time(12), "online") for weekday in range(5)]


@pytest.mark.parametrize(
    ("overrides", "on", "expected"),
    [
        ([DateOverride(date(2026, 5, 5), available=False)], date(2026, 5, 5), []),
        ([DateOverride(date(2026, 5, 5), available=False)], date(2026, 5, 6), [(9, "online")] * 3),
        (
            [DateOverride(date(2026, 5, 5), True, time(13), time(15), "in_office")],
            date(2026, 5, 5),
            [(13, "in_office"), (14, "in_office")],
        ),
        (
            [
                DateOverride(date(2026, 5, 10), True, time(10), time(11), "online"),
                DateOverride(date(2026, 5, 10), True, time(14), time(15), "home"),
            ],
            date(2026, 5, 10),  # a Sunday without weekly rules
            [(10, "online"), (14, "home")],
        ),
        (days_off(date(2026, 5, 4), date(2026, 5, 8)), date(2026, 5, 7), []),
    ],
)
def test_an_override_replaces_that_dates_weekly_rules(
    overrides: list[DateOverride], on: date, expected: list[tuple[int, str]]
) -> None:
    slots = generate_slots(
        Schedule(open_settings(NY), WEEKDAYS_ONLINE, overrides, []), LONG_AGO, on, on
    )
    if expected and expected[0] == (9, "online"):
        expected = [(9 + i, "online") for i in range(3)]
    assert [(slot.start.astimezone(ZoneInfo(NY)).hour, slot.setting) for slot in slots] == expected


# --- caps ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("caps", "booked", "on", "expected_count"),
    [
        ({"max_per_day": 2}, [booked_at(9), booked_at(10)], date(2026, 5, 5), 0),
        ({"max_per_day": 2}, [booked_at(9), booked_at(10)], date(2026, 5, 6), 3),
        ({"max_per_day": 2}, [booked_at(9)], date(2026, 5, 5), 2),
        # 22:00 EDT on Tuesday is Wednesday in UTC: it counts for Tuesday, local date.
        ({"max_per_day": 1}, [booked_at(22)], date(2026, 5, 5), 0),
        ({"max_per_day": 1}, [booked_at(22)], date(2026, 5, 6), 3),
        ({"max_per_week": 1}, [booked_at(22)], date(2026, 5, 8), 0),  # same ISO week
        ({"max_per_week": 1}, [booked_at(22)], date(2026, 5, 11), 3),  # next Monday
        (
            # Sunday 23:00 EDT is Monday in UTC; it belongs to the week that ends that Sunday.
            {"max_per_week": 1},
            [BookedSession(local(NY, 2026, 5, 10, 23), local(NY, 2026, 5, 10, 23, 50), "online")],
            date(2026, 5, 11),
            3,
        ),
    ],
)
def test_caps_count_sessions_per_local_date_and_iso_week(
    caps: dict[str, int], booked: list[BookedSession], on: date, expected_count: int
) -> None:
    settings_ = open_settings(NY, **caps)
    rules = every_day(time(9), time(12))
    assert len(starts_on(settings_, rules, on, booked=booked)) == expected_count


# --- check_bookable ------------------------------------------------------------------------

CHECK_RULES = [
    WeeklyRule(1, time(9), time(12), "online"),
    WeeklyRule(1, time(13), time(17), "home"),
    WeeklyRule(3, time(9), time(12), "online"),
]
CHECK_NOW = utc(2026, 5, 1, 12)  # Friday; the next Tuesday is 2026-05-05
TUE_NINE = local(NY, 2026, 5, 5, 9)


@pytest.mark.parametrize(
    ("start", "setting", "booked", "changes", "reason"),
    [
        (TUE_NINE, "online", [], {}, None),
        (local(NY, 2026, 5, 5, 13), "home", [], {}, None),
        (TUE_NINE, "online", [booked_at(9)], {}, "taken"),
        (TUE_NINE, "online", [booked_at(9, 50)], {}, "taken"),  # our buffer runs into it
        (TUE_NINE, "online", [booked_at(8, 10)], {}, "taken"),  # its buffer runs into us
        (local(NY, 2026, 5, 5, 15), "home", [booked_at(14, 20, "home")], {}, "taken"),  # travel
        (local(NY, 2026, 5, 5, 9, 30), "online", [], {}, "outside_availability"),  # off the grid
        (local(NY, 2026, 5, 5, 12), "online", [], {}, "outside_availability"),
        (TUE_NINE, "home", [], {}, "outside_availability"),
        (TUE_NINE, "video", [], {}, "outside_availability"),
        (local(NY, 2026, 5, 6, 9), "online", [], {}, "outside_availability"),  # Wednesday
        (local(NY, 2026, 5, 5, 11, 10), "online", [], {}, "outside_availability"),  # runs past 12
        (TUE_NINE, "online", [], {"min_notice_hours": 98}, "too_soon"),
        (local(NY, 2026, 7, 7, 9), "online", [], {}, "beyond_horizon"),
        (TUE_NINE, "online", [booked_at(11)], {"max_per_day": 1}, "day_cap"),
        (
            TUE_NINE,
            "online",
            [BookedSession(local(NY, 2026, 5, 7, 9), local(NY, 2026, 5, 7, 9, 50), "online")],
            {"max_per_week": 1},
            "week_cap",
        ),
        (TUE_NINE, "online", [], {"accepting_new_clients": False}, "not_accepting"),
    ],
)
def test_check_bookable_reasons(
    start: datetime,
    setting: str,
    booked: list[BookedSession],
    changes: dict[str, object],
    reason: str | None,
) -> None:
    settings_ = AvailabilitySettings(NY, **changes)  # type: ignore[arg-type]
    if reason is None:
        check_bookable(Schedule(settings_, CHECK_RULES, [], booked), CHECK_NOW, start, setting)
        return
    with pytest.raises(ConflictError) as caught:
        check_bookable(
            Schedule(settings_, CHECK_RULES, [], booked),
            CHECK_NOW,
            start,
            setting,
            is_new_client=True,
        )
    assert caught.value.extra == {"reason": reason}
    assert caught.value.status == 409
    assert caught.value.detail.endswith(".")


def test_a_therapist_not_accepting_new_clients_still_sees_existing_ones() -> None:
    settings_ = AvailabilitySettings(NY, accepting_new_clients=False)
    check_bookable(Schedule(settings_, CHECK_RULES, [], []), CHECK_NOW, TUE_NINE, "online")
    assert (
        next_opening(Schedule(settings_, CHECK_RULES, [], []), CHECK_NOW, is_new_client=True)
        is None
    )
    assert next_opening(Schedule(settings_, CHECK_RULES, [], []), CHECK_NOW) == Slot(
        TUE_NINE, TUE_NINE + timedelta(minutes=50), "online"
    )


def test_check_bookable_accepts_a_start_given_in_another_zone() -> None:
    settings_ = AvailabilitySettings(NY)
    start = TUE_NINE.astimezone(ZoneInfo(KOLKATA))
    check_bookable(Schedule(settings_, CHECK_RULES, [], []), CHECK_NOW, start, "online")


# --- next opening -----------------------------------------------------------------------


def test_next_opening_skips_a_vacation() -> None:
    settings_ = AvailabilitySettings(NY)
    vacation = days_off(date(2026, 5, 4), date(2026, 5, 10))
    slot = next_opening(Schedule(settings_, CHECK_RULES, vacation, []), CHECK_NOW)
    assert slot == Slot(local(NY, 2026, 5, 12, 9), local(NY, 2026, 5, 12, 9, 50), "online")


def test_next_opening_filters_by_setting() -> None:
    slot = next_opening(Schedule(AvailabilitySettings(NY), CHECK_RULES, [], []), CHECK_NOW, "home")
    assert slot is not None
    assert (slot.start, slot.setting) == (local(NY, 2026, 5, 5, 13), "home")


@pytest.mark.parametrize(
    ("rules", "overrides", "horizon_days"),
    [
        ([], [], 60),
        (CHECK_RULES, days_off(date(2026, 5, 1), date(2026, 6, 30)), 60),
        (CHECK_RULES, [], 3),  # horizon ends on Monday
    ],
)
def test_next_opening_is_none_when_nothing_is_offered(
    rules: list[WeeklyRule], overrides: list[DateOverride], horizon_days: int
) -> None:
    settings_ = AvailabilitySettings(NY, horizon_days=horizon_days)
    assert next_opening(Schedule(settings_, rules, overrides, []), CHECK_NOW) is None


def test_bulk_next_openings_match_one_by_one() -> None:
    schedules = {
        1: Schedule(AvailabilitySettings(NY), CHECK_RULES),
        2: Schedule(AvailabilitySettings(LONDON), NINE_TO_NOON, booked=[booked_at(9)]),
        3: Schedule(AvailabilitySettings(KOLKATA, horizon_days=1), []),
    }
    result = next_openings_bulk(schedules, CHECK_NOW)
    assert result == {
        key: next_opening(
            Schedule(s.settings, s.rules, s.overrides, s.booked, busy=s.busy), CHECK_NOW
        )
        for key, s in schedules.items()
    }
    assert result[3] is None
    assert result[1] is not None


# --- properties -----------------------------------------------------------------------

DST_WEEKS = [date(2026, 3, 5), date(2026, 3, 26), date(2026, 10, 22), date(2026, 10, 29)]
ZONES = [NY, LONDON, KOLKATA, "Australia/Lord_Howe"]


def minutes_to_time(minutes: int) -> time:
    return time(0) if minutes == 24 * 60 else time(minutes // 60, minutes % 60)


@st.composite
def calendars(
    draw: st.DrawFn,
) -> tuple[AvailabilitySettings, list[WeeklyRule], list[BookedSession], list[Interval], datetime]:
    zone = draw(st.sampled_from(ZONES))
    rules: list[WeeklyRule] = []
    for weekday in range(7):
        points = sorted(set(draw(st.lists(st.integers(0, 48), max_size=6))))
        for a, b in zip(points[::2], points[1::2], strict=False):
            kind = draw(st.sampled_from(sorted(SETTINGS)))
            rules.append(
                WeeklyRule(weekday, minutes_to_time(a * 30), minutes_to_time(b * 30), kind)
            )
    settings_ = AvailabilitySettings(
        zone,
        session_minutes=draw(st.sampled_from([30, 45, 50, 60, 90])),
        buffer_minutes=draw(st.sampled_from([0, 10, 15])),
        travel_buffer_minutes=draw(st.sampled_from([0, 30])),
        min_notice_hours=draw(st.integers(0, 48)),
        horizon_days=10,
        max_per_day=draw(st.none() | st.integers(1, 4)),
        max_per_week=draw(st.none() | st.integers(4, 10)),
    )
    now = datetime.combine(draw(st.sampled_from(DST_WEEKS)), time(0), UTC) + timedelta(
        minutes=draw(st.integers(0, 24 * 60))
    )
    booked = [
        BookedSession(
            now + timedelta(minutes=5 * offset),
            now + timedelta(minutes=5 * offset + settings_.session_minutes),
            draw(st.sampled_from(sorted(SETTINGS))),
        )
        for offset in draw(st.lists(st.integers(0, 12 * 24 * 10), max_size=6))
    ]
    busy = [
        Interval(now + timedelta(minutes=5 * offset), now + timedelta(minutes=5 * offset + 40))
        for offset in draw(st.lists(st.integers(0, 12 * 24 * 10), max_size=2))
    ]
    return settings_, rules, booked, busy, now


@settings(max_examples=60, deadline=None)
@given(calendars())
def test_generated_slots_respect_windows_busy_time_notice_and_caps(
    calendar: tuple[
        AvailabilitySettings, list[WeeklyRule], list[BookedSession], list[Interval], datetime
    ],
) -> None:
    settings_, rules, booked, busy, now = calendar
    validate_availability(settings_, rules, [])
    first, last = now.date() - timedelta(days=1), now.date() + timedelta(days=11)
    slots = generate_slots(Schedule(settings_, rules, [], booked, busy=busy), now, first, last)
    windows = expand_rules(rules, [], settings_.time_zone, first, last)
    zone = ZoneInfo(settings_.time_zone)
    taken = [
        blocked_interval(
            b.start, b.end, b.setting, settings_.buffer_minutes, settings_.travel_buffer_minutes
        )
        for b in booked
    ] + busy

    assert all(a.end <= b.start for a, b in itertools.pairwise(slots))
    for slot in slots:
        span = Interval(slot.start, slot.end)
        assert slot.end - slot.start == timedelta(minutes=settings_.session_minutes)
        assert any(w.covers(span) and kind == slot.setting for w, kind in windows)
        block = blocked_interval(
            slot.start,
            slot.end,
            slot.setting,
            settings_.buffer_minutes,
            settings_.travel_buffer_minutes,
        )
        assert not any(block.overlaps(other) for other in taken)
        assert now + timedelta(hours=settings_.min_notice_hours) <= slot.start
        assert slot.start <= now + timedelta(days=settings_.horizon_days)
        day = slot.start.astimezone(zone).date()
        if settings_.max_per_day is not None:
            same_day = sum(1 for b in booked if b.start.astimezone(zone).date() == day)
            assert same_day < settings_.max_per_day

    assert next_opening(Schedule(settings_, rules, [], booked, busy=busy), now) == (
        slots[0] if slots else None
    )


@settings(max_examples=40, deadline=None)
@given(calendars())
def test_check_bookable_accepts_exactly_the_offered_grid_points(
    calendar: tuple[
        AvailabilitySettings, list[WeeklyRule], list[BookedSession], list[Interval], datetime
    ],
) -> None:
    settings_, rules, booked, busy, now = calendar
    first, last = now.date() - timedelta(days=1), now.date() + timedelta(days=11)
    offered = {
        (slot.start, slot.setting)
        for slot in generate_slots(
            Schedule(settings_, rules, [], booked, busy=busy), now, first, last
        )
    }
    session = timedelta(minutes=settings_.session_minutes)
    for window, kind in expand_rules(rules, [], settings_.time_zone, first, last):
        travel = settings_.travel_buffer_minutes if kind == "home" else 0
        step = session + timedelta(minutes=settings_.buffer_minutes + 2 * travel)
        start = window.start
        while start + session <= window.end:
            try:
                check_bookable(Schedule(settings_, rules, [], booked, busy=busy), now, start, kind)
                accepted = True
            except ConflictError:
                accepted = False
            assert accepted is ((start, kind) in offered), (start, kind)
            start += step
