"""Availability service: save/get round trip, all-or-nothing validation, bulk next openings."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import event, func, select

from teletherapy.domain.errors import NotFoundError, ValidationError
from teletherapy.models import AvailabilityOverride, AvailabilityRule, Booking
from teletherapy.models import AvailabilitySettings as SettingsRow
from teletherapy.services.availability.rules import (
    get_availability,
    next_openings,
    save_availability,
)

PAYLOAD: dict[str, Any] = {
    "time_zone": "America/New_York",
    "session_minutes": 50,
    "buffer_minutes": 10,
    "min_notice_hours": 24,
    "horizon_days": 60,
    "weekly": [
        {"weekday": 0, "start": "09:00", "end": "12:00", "setting": "online"},
        {"weekday": 0, "start": "13:00", "end": "17:00", "setting": "in_office"},
        {"weekday": 3, "start": "18:00", "end": "00:00", "setting": "home"},
    ],
    "overrides": [
        {"date": "2026-12-24", "available": False},
        {"date": "2026-12-27", "start": "10:00", "end": "14:00", "setting": "online"},
    ],
    "travel_buffer_minutes": 20,
    "max_per_day": 6,
    "max_per_week": 25,
    "cancellation_window_hours": 48,
    "accepting_new_clients": False,
}


@contextmanager
def count_queries(engine: Any) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_nothing_saved_gives_defaults_in_the_therapists_own_zone(make_user: Any) -> None:
    therapist = make_user("therapist", time_zone="Asia/Kolkata")
    assert get_availability(therapist_id=therapist.therapist_id) == {
        "time_zone": "Asia/Kolkata",
        "session_minutes": 50,
        "buffer_minutes": 10,
        "min_notice_hours": 24,
        "horizon_days": 60,
        "weekly": [],
        "overrides": [],
        "travel_buffer_minutes": 30,
        "max_per_day": None,
        "max_per_week": None,
        "cancellation_window_hours": 24,
        "accepting_new_clients": True,
    }


def test_save_then_get_returns_the_same_availability(make_user: Any, db: Any) -> None:
    therapist = make_user("therapist")
    saved = save_availability(therapist_id=therapist.therapist_id, payload=PAYLOAD)
    assert saved == PAYLOAD
    db.session.expire_all()
    assert get_availability(therapist_id=therapist.therapist_id) == PAYLOAD
    assert (
        db.session.get(type(therapist.therapist), therapist.therapist_id).accepting_new_clients
        is False
    )


def test_saving_again_replaces_rules_and_overrides(make_user: Any, db: Any) -> None:
    therapist = make_user("therapist")
    save_availability(therapist_id=therapist.therapist_id, payload=PAYLOAD)
    saved = save_availability(
        therapist_id=therapist.therapist_id,
        payload={
            "weekly": [{"weekday": 4, "start": "08:30", "end": "11:30", "setting": "online"}],
            "overrides": [],
        },
    )
    assert saved["weekly"] == [
        {"weekday": 4, "start": "08:30", "end": "11:30", "setting": "online"}
    ]
    assert saved["overrides"] == []
    assert saved["session_minutes"] == 50 and saved["max_per_week"] == 25  # left out: kept
    assert db.session.scalar(select(func.count()).select_from(AvailabilityRule)) == 1
    assert db.session.scalar(select(func.count()).select_from(AvailabilityOverride)) == 0


def test_form_strings_are_accepted_like_json_values(make_user: Any) -> None:
    therapist = make_user("therapist")
    saved = save_availability(
        therapist_id=therapist.therapist_id,
        payload={
            "session_minutes": "45",
            "max_per_day": "",
            "accepting_new_clients": "on",
            "weekly": [{"weekday": "2", "start": "09:00", "end": "24:00", "setting": "online"}],
        },
    )
    assert saved["session_minutes"] == 45
    assert saved["max_per_day"] is None
    assert saved["weekly"] == [
        {"weekday": 2, "start": "09:00", "end": "00:00", "setting": "online"}
    ]


def _counts(db: Any) -> tuple[int, int, int]:
    return (
        db.session.scalar(select(func.count()).select_from(SettingsRow)),
        db.session.scalar(select(func.count()).select_from(AvailabilityRule)),
        db.session.scalar(select(func.count()).select_from(AvailabilityOverride)),
    )


@pytest.mark.parametrize(
    ("change", "key"),
    [
        (
            {"weekly": [{"weekday": 0, "start": "12:00", "end": "09:00", "setting": "online"}]},
            "weekly[0].end",
        ),
        (
            {
                "weekly": [
                    {"weekday": 1, "start": "09:00", "end": "12:00", "setting": "online"},
                    {"weekday": 1, "start": "11:00", "end": "13:00", "setting": "home"},
                ]
            },
            "weekly[1].start",
        ),
        (
            {"weekly": [{"weekday": 1, "start": "9h", "end": "12:00", "setting": "online"}]},
            "weekly[0].start",
        ),
        (
            {"weekly": [{"weekday": 1, "start": "09:00", "end": "12:00", "setting": "car"}]},
            "weekly[0].setting",
        ),
        ({"overrides": [{"date": "2026-02-30", "available": False}]}, "overrides[0].date"),
        ({"time_zone": "Mars/Olympus_Mons"}, "time_zone"),
        ({"session_minutes": 5}, "session_minutes"),
        ({"max_per_day": 9, "max_per_week": 3}, "max_per_day"),
        ({"horizon_days": "soon"}, "horizon_days"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_invalid_input_names_the_field_and_changes_nothing(
    make_user: Any, db: Any, change: dict[str, Any], key: str
) -> None:
    therapist = make_user("therapist")
    save_availability(therapist_id=therapist.therapist_id, payload=PAYLOAD)
    before = _counts(db)
    with pytest.raises(ValidationError) as caught:
        save_availability(therapist_id=therapist.therapist_id, payload={**PAYLOAD, **change})
    assert key in caught.value.errors
    db.session.expire_all()
    assert _counts(db) == before
    assert get_availability(therapist_id=therapist.therapist_id) == PAYLOAD


@pytest.mark.parametrize(
    ("change", "keys"),
    [
        ({"weekly": "mornings"}, {"weekly"}),
        ({"overrides": {"date": "2026-12-24"}}, {"overrides"}),
        ({"weekly": [5], "overrides": ["2026-12-24"]}, {"weekly[0]", "overrides[0]"}),
        (
            {"time_zone": None, "accepting_new_clients": "maybe"},
            {"time_zone", "accepting_new_clients"},
        ),
        (
            {"weekly": [{"weekday": True, "start": "25:00", "end": 1200, "setting": None}]},
            {"weekly[0].weekday", "weekly[0].start", "weekly[0].end", "weekly[0].setting"},
        ),
        (
            {"overrides": [{"date": datetime(2026, 12, 24, tzinfo=UTC), "available": "perhaps"}]},
            {"overrides[0].date", "overrides[0].available"},
        ),
        ({"overrides": [{"date": "2026-12-24"}]}, {"overrides[0].start", "overrides[0].end"}),
        ({"max_per_week": 2.5, "buffer_minutes": None}, {"max_per_week", "buffer_minutes"}),
    ],
)
def test_malformed_shapes_are_reported_by_key(
    make_user: Any, db: Any, change: dict[str, Any], keys: set[str]
) -> None:
    therapist = make_user("therapist")
    with pytest.raises(ValidationError) as caught:
        save_availability(therapist_id=therapist.therapist_id, payload={**PAYLOAD, **change})
    assert keys <= set(caught.value.errors)
    assert _counts(db) == (0, 0, 0)


@pytest.mark.parametrize(
    ("zone", "suggestion"),
    [
        ("US/Eastern", "America/New_York"),
        ("Asia/Calcutta", "Asia/Kolkata"),
        ("EST5EDT", "America/New_York"),
    ],
)
def test_a_zone_that_is_not_canonical_is_refused_with_the_canonical_name(
    make_user: Any, db: Any, zone: str, suggestion: str
) -> None:
    therapist = make_user("therapist")
    with pytest.raises(ValidationError) as caught:
        save_availability(
            therapist_id=therapist.therapist_id, payload={**PAYLOAD, "time_zone": zone}
        )
    assert suggestion in " ".join(caught.value.errors["time_zone"])
    assert _counts(db) == (0, 0, 0)


def test_unknown_therapist_is_not_found(app: Any) -> None:
    with pytest.raises(NotFoundError):
        save_availability(therapist_id=999_999, payload=PAYLOAD)


# --- next openings ---------------------------------------------------------------

# Tuesday 2026-10-27 14:00Z: the US changes back on Sunday 2026-11-01, London on 2026-10-25.
DST_NOW = datetime(2026, 10, 27, 14, 0, tzinfo=UTC)


def _therapist_with(make_user: Any, zone: str, weekly: list[dict[str, Any]], **extra: Any) -> int:
    therapist = make_user("therapist")
    save_availability(
        therapist_id=therapist.therapist_id,
        payload={**PAYLOAD, "time_zone": zone, "weekly": weekly, "overrides": [], **extra},
    )
    return int(therapist.therapist_id)


def test_next_openings_for_several_therapists_across_a_dst_week(make_user: Any) -> None:
    sunday_online = [{"weekday": 6, "start": "09:00", "end": "12:00", "setting": "online"}]
    new_york = _therapist_with(
        make_user, "America/New_York", sunday_online, accepting_new_clients=True
    )
    kolkata = _therapist_with(make_user, "Asia/Kolkata", sunday_online, accepting_new_clients=True)
    office_only = _therapist_with(
        make_user,
        "Europe/London",
        [{"weekday": 6, "start": "09:00", "end": "12:00", "setting": "in_office"}],
        accepting_new_clients=True,
    )
    no_rules = make_user("therapist").therapist_id
    closed = _therapist_with(
        make_user, "America/New_York", sunday_online, accepting_new_clients=False
    )

    openings = next_openings(
        therapist_ids=[new_york, kolkata, office_only, no_rules, closed, 987_654],
        setting="online",
        now=DST_NOW,
    )
    # Sunday 2026-11-01 09:00 in New York is after the change back: EST, UTC-5.
    assert openings[new_york] == datetime(2026, 11, 1, 14, 0, tzinfo=UTC)
    # Kolkata has no DST: 09:00 IST is 03:30Z.
    assert openings[kolkata] == datetime(2026, 11, 1, 3, 30, tzinfo=UTC)
    assert openings[office_only] is None  # no online hours
    assert openings[no_rules] is None
    assert openings[closed] is None  # not accepting new clients
    assert openings[987_654] is None
    # An existing client still sees the therapist who is closed to new ones.
    again = next_openings(
        therapist_ids=[closed], setting="online", now=DST_NOW, is_new_client=False
    )
    assert again[closed] == datetime(2026, 11, 1, 14, 0, tzinfo=UTC)
    # Any setting: the London office on Sunday 09:00 GMT (after 25 October).
    anywhere = next_openings(therapist_ids=[office_only], setting=None, now=DST_NOW)
    assert anywhere[office_only] == datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def test_a_booked_session_moves_the_next_opening(make_user: Any, db: Any) -> None:
    weekly = [{"weekday": 6, "start": "09:00", "end": "12:00", "setting": "online"}]
    therapist_id = _therapist_with(
        make_user, "America/New_York", weekly, accepting_new_clients=True
    )
    start = datetime(2026, 11, 1, 14, 0, tzinfo=UTC)
    client = make_user("client")
    db.session.add(
        Booking(
            therapist_id=therapist_id,
            client_id=client.id,
            status="confirmed",
            setting="online",
            start_at=start,
            end_at=start + timedelta(minutes=50),
            blocked_start_at=start,
            blocked_end_at=start + timedelta(minutes=60),
            time_zone="America/New_York",
        )
    )
    db.session.commit()
    openings = next_openings(therapist_ids=[therapist_id], setting="online", now=DST_NOW)
    assert openings[therapist_id] == start + timedelta(hours=1)


def test_next_openings_use_the_same_number_of_queries_for_3_or_12_therapists(
    make_user: Any, db: Any
) -> None:
    weekly = [
        {"weekday": d, "start": "09:00", "end": "17:00", "setting": "online"} for d in range(5)
    ]
    ids = [
        _therapist_with(make_user, "America/Chicago", weekly, accepting_new_clients=True)
        for _ in range(12)
    ]
    db.session.expire_all()
    with count_queries(db.engine) as few:
        small = next_openings(therapist_ids=ids[:3], setting="online", now=DST_NOW)
    db.session.expire_all()
    with count_queries(db.engine) as many:
        large = next_openings(therapist_ids=ids, setting="online", now=DST_NOW)
    assert len(few) == len(many) <= 6
    assert all(value is not None for value in large.values())
    assert small == {key: large[key] for key in ids[:3]}


def test_next_openings_refuse_an_unknown_setting(app: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        next_openings(therapist_ids=[1], setting="car", now=DST_NOW)
    assert "setting" in caught.value.errors


def test_rules_keep_their_wall_clock_times(make_user: Any, db: Any) -> None:
    therapist = make_user("therapist")
    save_availability(therapist_id=therapist.therapist_id, payload=PAYLOAD)
    rule = db.session.scalars(select(AvailabilityRule).order_by(AvailabilityRule.id)).first()
    assert (rule.start_time, rule.end_time) == (time(9), time(12))


def test_concurrent_saves_leave_exactly_one_of_them(app: Any, make_user: Any, db: Any) -> None:
    import threading

    therapist_id = make_user("therapist").therapist_id
    weeks = {
        "mornings": [
            {"weekday": d, "start": "08:00", "end": "12:00", "setting": "online"} for d in range(5)
        ],
        "evenings": [
            {"weekday": d, "start": "10:00", "end": "20:00", "setting": "home"} for d in range(3)
        ],
    }
    db.session.commit()  # end the test's own transaction (on SQLite it holds the write lock)
    barrier = threading.Barrier(len(weeks))
    failures: list[BaseException] = []

    def save(weekly: list[dict[str, Any]]) -> None:
        with app.app_context():
            try:
                for _ in range(4):
                    barrier.wait(timeout=30)
                    save_availability(therapist_id=therapist_id, payload={"weekly": weekly})
                    db.session.rollback()  # end the read that follows the commit
            except BaseException as exc:  # reported below, not lost in the thread
                failures.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=save, args=(weekly,)) for weekly in weeks.values()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    db.session.expire_all()
    assert get_availability(therapist_id=therapist_id)["weekly"] in list(weeks.values())
