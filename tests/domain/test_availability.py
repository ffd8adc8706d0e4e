"""Tables for availability validation, canonical time zones and the wall-clock DST rule."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo, available_timezones

import pytest

from teletherapy.domain.availability import (
    LEGACY_TIME_ZONES,
    AvailabilitySettings,
    DateOverride,
    WeeklyRule,
    days_off,
    local_to_utc,
    time_zone_error,
    validate_availability,
)
from teletherapy.domain.errors import ValidationError

NY = "America/New_York"


def errors_of(
    settings: AvailabilitySettings,
    rules: list[WeeklyRule] | None = None,
    overrides: list[DateOverride] | None = None,
) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as caught:
        validate_availability(settings, rules or [], overrides or [])
    return {key: list(value) for key, value in caught.value.errors.items()}


def test_the_design_document_example_is_valid() -> None:
    validate_availability(
        AvailabilitySettings(NY, session_minutes=50, buffer_minutes=10),
        [WeeklyRule(0, time(9), time(12), "online")],
        [
            DateOverride(date(2026, 12, 24), available=False),
            DateOverride(date(2026, 12, 27), True, time(10), time(14), "online"),
        ],
    )


def test_touching_windows_and_an_end_at_midnight_are_valid() -> None:
    validate_availability(
        AvailabilitySettings(NY, max_per_day=4, max_per_week=12),
        [
            WeeklyRule(0, time(9), time(12), "online"),
            WeeklyRule(0, time(12), time(17), "home"),
            WeeklyRule(0, time(20), time(0), "online"),  # until midnight
            WeeklyRule(1, time(0), time(2), "online"),  # overnight continues on Tuesday
        ],
    )


@pytest.mark.parametrize(
    ("rules", "key", "fragment"),
    [
        ([WeeklyRule(0, time(12), time(9), "online")], "weekly[0].end", "after start"),
        ([WeeklyRule(0, time(9), time(9), "online")], "weekly[0].end", "after start"),
        ([WeeklyRule(7, time(9), time(12), "online")], "weekly[0].weekday", "0 (Monday)"),
        ([WeeklyRule(0, time(9), time(12), "phone")], "weekly[0].setting", "Unknown setting"),
        ([WeeklyRule(0, time(9, 0, 30), time(12), "online")], "weekly[0].start", "whole"),
        (
            [WeeklyRule(2, time(9), time(12), "online"), WeeklyRule(2, time(11), time(13), "home")],
            "weekly[1].start",
            "Overlaps weekly[0]",
        ),
        (
            [
                WeeklyRule(2, time(9), time(17), "online"),
                WeeklyRule(2, time(10), time(11), "online"),
                WeeklyRule(2, time(12), time(13), "in_office"),
            ],
            "weekly[2].start",
            "Overlaps weekly[0]",
        ),
        (
            [
                WeeklyRule(4, time(20), time(0), "online"),
                WeeklyRule(4, time(23), time(23, 30), "home"),
            ],
            "weekly[1].start",
            "two places",
        ),
    ],
)
def test_weekly_rule_problems_are_keyed_like_the_json(
    rules: list[WeeklyRule], key: str, fragment: str
) -> None:
    errors = errors_of(AvailabilitySettings(NY), rules)
    assert key in errors, errors
    assert any(fragment in message for message in errors[key])


@pytest.mark.parametrize(
    ("overrides", "key", "fragment"),
    [
        ([DateOverride(date(2026, 12, 27), True, time(14), time(10), "online")], "end", "after"),
        ([DateOverride(date(2026, 12, 27), True, time(10), None, "online")], "end", "Give"),
        ([DateOverride(date(2026, 12, 27), True, time(10), time(12), None)], "setting", "Choose"),
        ([DateOverride(date(2026, 12, 27), False, time(10), time(12), None)], "start", "day off"),
        ([DateOverride(date(2026, 12, 27), True, time(10), time(12), "bus")], "setting", "Unknown"),
    ],
)
def test_override_problems_are_keyed_like_the_json(
    overrides: list[DateOverride], key: str, fragment: str
) -> None:
    errors = errors_of(AvailabilitySettings(NY), [], overrides)
    assert any(fragment in message for message in errors[f"overrides[0].{key}"]), errors


def test_a_day_off_cannot_share_its_date_with_hours() -> None:
    errors = errors_of(
        AvailabilitySettings(NY),
        [],
        [
            DateOverride(date(2026, 12, 27), True, time(10), time(12), "online"),
            DateOverride(date(2026, 12, 27), available=False),
        ],
    )
    assert list(errors) == ["overrides[1].date"]


def test_overlapping_overrides_on_one_date_are_refused_but_two_settings_may_follow() -> None:
    day = date(2026, 12, 27)
    validate_availability(
        AvailabilitySettings(NY),
        [],
        [
            DateOverride(day, True, time(9), time(12), "online"),
            DateOverride(day, True, time(13), time(17), "in_office"),
        ],
    )
    errors = errors_of(
        AvailabilitySettings(NY),
        [],
        [
            DateOverride(day, True, time(9), time(12), "online"),
            DateOverride(day, True, time(11), time(17), "in_office"),
        ],
    )
    assert list(errors) == ["overrides[1].start"]


@pytest.mark.parametrize(
    ("changes", "key"),
    [
        ({"session_minutes": 14}, "session_minutes"),
        ({"session_minutes": 241}, "session_minutes"),
        ({"buffer_minutes": -1}, "buffer_minutes"),
        ({"buffer_minutes": 121}, "buffer_minutes"),
        ({"travel_buffer_minutes": 121}, "travel_buffer_minutes"),
        ({"min_notice_hours": -1}, "min_notice_hours"),
        ({"horizon_days": 0}, "horizon_days"),
        ({"horizon_days": 366}, "horizon_days"),
        ({"min_notice_hours": 48, "horizon_days": 2}, "min_notice_hours"),
        ({"max_per_day": 0}, "max_per_day"),
        ({"max_per_week": 101}, "max_per_week"),
        ({"max_per_day": 5, "max_per_week": 4}, "max_per_day"),
        ({"cancellation_window_hours": 169}, "cancellation_window_hours"),
        ({"session_minutes": True}, "session_minutes"),
    ],
)
def test_settings_out_of_range_are_refused(changes: dict[str, object], key: str) -> None:
    errors = errors_of(AvailabilitySettings(NY, **changes))  # type: ignore[arg-type]
    assert list(errors) == [key]


@pytest.mark.parametrize(
    "changes",
    [
        {"session_minutes": 15, "buffer_minutes": 0, "travel_buffer_minutes": 0},
        {"session_minutes": 240, "buffer_minutes": 120, "travel_buffer_minutes": 120},
        {"min_notice_hours": 0, "horizon_days": 1},
        {"max_per_day": 1, "max_per_week": 1},
    ],
)
def test_settings_at_the_limits_are_valid(changes: dict[str, object]) -> None:
    validate_availability(AvailabilitySettings(NY, **changes), [], [])  # type: ignore[arg-type]


def test_all_problems_are_reported_at_once() -> None:
    errors = errors_of(
        AvailabilitySettings("US/Eastern", session_minutes=5),
        [WeeklyRule(0, time(9), time(8), "online")],
        [DateOverride(date(2026, 1, 1), True, time(9), None, "online")],
    )
    assert set(errors) == {"time_zone", "session_minutes", "weekly[0].end", "overrides[0].end"}


# --- time zones ----------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["America/New_York", "Europe/London", "Asia/Kolkata", "UTC", "America/Argentina/Salta"],
)
def test_canonical_time_zones_are_accepted(name: str) -> None:
    assert time_zone_error(name) is None


@pytest.mark.parametrize(
    ("name", "suggestion"),
    [
        ("US/Eastern", "'America/New_York'"),
        ("EST5EDT", "'America/New_York'"),
        ("US/Pacific", "'America/Los_Angeles'"),
        ("Asia/Calcutta", "'Asia/Kolkata'"),
        ("Europe/Kiev", "'Europe/Kyiv'"),
        ("GB", "'Europe/London'"),
        ("Etc/UTC", "'UTC'"),
        ("Canada/Eastern", "'America/Toronto'"),
        ("Etc/GMT+5", "Area/City"),
        ("Factory", "Area/City"),
    ],
)
def test_legacy_aliases_are_refused_with_the_canonical_name(name: str, suggestion: str) -> None:
    if name not in available_timezones():
        pytest.skip(f"{name} is not in this tzdata")
    message = time_zone_error(name)
    assert message is not None
    assert "legacy" in message
    assert suggestion in message


@pytest.mark.parametrize("name", ["Mars/Olympus_Mons", "america/new_york", "", "New York"])
def test_unknown_time_zones_are_refused(name: str) -> None:
    message = time_zone_error(name)
    assert message is not None
    assert "America/New_York" in message


def test_every_suggested_canonical_name_is_itself_accepted() -> None:
    for alias, canonical in LEGACY_TIME_ZONES.items():
        assert time_zone_error(canonical) is None, (alias, canonical)


def test_every_accepted_zone_is_utc_or_an_area_and_place() -> None:
    areas = {
        "Africa",
        "America",
        "Antarctica",
        "Arctic",
        "Asia",
        "Atlantic",
        "Australia",
        "Europe",
        "Indian",
        "Pacific",
    }
    accepted = [name for name in available_timezones() if time_zone_error(name) is None]
    assert len(accepted) > 300
    assert all(name == "UTC" or name.split("/")[0] in areas for name in accepted)


SYSTEM_TZDATA = Path("/usr/share/zoneinfo/tzdata.zi")


@pytest.mark.skipif(not SYSTEM_TZDATA.exists(), reason="no system tzdata.zi to cross-check")
def test_links_to_other_names_from_the_backward_file_are_refused() -> None:
    # tzdata.zi lines "L <target> <link>"; links without a place name are legacy.
    links = re.findall(r"^L (\S+) (\S+)$", SYSTEM_TZDATA.read_text(), flags=re.MULTILINE)
    known = available_timezones()
    for _target, link in links:
        if link in known and link != "UTC" and ("/" not in link or link.startswith("US/")):
            assert time_zone_error(link) is not None, link


def test_a_vacation_is_one_day_off_per_date() -> None:
    assert days_off(date(2026, 12, 24), date(2026, 12, 26)) == [
        DateOverride(date(2026, 12, 24), available=False),
        DateOverride(date(2026, 12, 25), available=False),
        DateOverride(date(2026, 12, 26), available=False),
    ]


# --- wall clock to UTC -----------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "on", "at", "expected"),
    [
        pytest.param(
            NY, date(2026, 3, 7), time(9), datetime(2026, 3, 7, 14, tzinfo=UTC), id="ny-est"
        ),
        pytest.param(
            NY, date(2026, 3, 9), time(9), datetime(2026, 3, 9, 13, tzinfo=UTC), id="ny-edt"
        ),
        pytest.param(
            NY,
            date(2026, 3, 8),
            time(1, 59),
            datetime(2026, 3, 8, 6, 59, tzinfo=UTC),
            id="ny-before-gap",
        ),
        pytest.param(
            NY,
            date(2026, 3, 8),
            time(2, 30),
            datetime(2026, 3, 8, 7, 0, tzinfo=UTC),
            id="ny-in-gap",
        ),
        pytest.param(
            NY,
            date(2026, 3, 8),
            time(3, 0),
            datetime(2026, 3, 8, 7, 0, tzinfo=UTC),
            id="ny-after-gap",
        ),
        pytest.param(
            NY,
            date(2026, 11, 1),
            time(1, 30),
            datetime(2026, 11, 1, 5, 30, tzinfo=UTC),
            id="ny-overlap",
        ),
        pytest.param(
            NY,
            date(2026, 11, 1),
            time(2, 0),
            datetime(2026, 11, 1, 7, 0, tzinfo=UTC),
            id="ny-after-overlap",
        ),
        pytest.param(
            "Europe/London",
            date(2026, 3, 29),
            time(1, 30),
            datetime(2026, 3, 29, 1, 0, tzinfo=UTC),
            id="london-in-gap",
        ),
        pytest.param(
            "Europe/London",
            date(2026, 10, 25),
            time(1, 30),
            datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
            id="london-overlap",
        ),
        pytest.param(
            "Asia/Kolkata",
            date(2026, 3, 8),
            time(9),
            datetime(2026, 3, 8, 3, 30, tzinfo=UTC),
            id="kolkata",
        ),
        pytest.param(
            "Australia/Lord_Howe",
            date(2026, 10, 4),
            time(2, 10),
            datetime(2026, 10, 3, 15, 30, tzinfo=UTC),
            id="lord-howe-half-hour-gap",
        ),
    ],
)
def test_wall_clock_to_utc_table(zone: str, on: date, at: time, expected: datetime) -> None:
    assert local_to_utc(on, at, ZoneInfo(zone)) == expected
