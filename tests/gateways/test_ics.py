"""gateways/ics.py read back by icalendar, recurring-ical-events and vobject."""

from __future__ import annotations

import dataclasses
import itertools
import re
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import icalendar
import pytest
import recurring_ical_events

from teletherapy.gateways.ics import (
    IcsEvent,
    Party,
    WeeklySeries,
    build_feed,
    build_invite,
    google_calendar_url,
    outlook_calendar_url,
    vtimezone,
)
from tests.vobject_reading import read_calendar

NY = ZoneInfo("America/New_York")
UID = "booking-12@teletherapy.test"
# A made-up TZID: a parser cannot look it up and must use the VTIMEZONE we wrote.
CUSTOM_TZID = b"Teletherapy/Custom"


def make_event(**changes: object) -> IcsEvent:
    event = IcsEvent(
        uid=UID,
        sequence=0,
        start=datetime(2027, 2, 23, 18, 0, tzinfo=NY),
        end=datetime(2027, 2, 23, 18, 50, tzinfo=NY),
        time_zone="America/New_York",
        summary="Appointment",
        dtstamp=datetime(2027, 1, 10, 12, 0, tzinfo=UTC),
        organizer=Party("sessions@teletherapy.test", "Teletherapy"),
        attendees=(Party("client1@demo.test", "Client One"), Party("therapist1@demo.test", "")),
        description="Join: https://meet.example.test/abc",
        location="https://meet.example.test/abc",
        url="https://teletherapy.test/bookings/12",
    )
    return dataclasses.replace(event, **changes)


def weekly(**series: object) -> IcsEvent:
    return make_event(recurrence=WeeklySeries(**series))  # type: ignore[arg-type]


def utc_starts_icalendar(ics: bytes) -> list[datetime]:
    calendar = icalendar.Calendar.from_ical(ics)
    occurrences = recurring_ical_events.of(calendar).between(date(2026, 1, 1), date(2029, 1, 1))
    return sorted(o["DTSTART"].dt.astimezone(UTC) for o in occurrences)


def utc_starts_vobject(ics: bytes) -> list[datetime]:
    """vobject expands the master's RRULE/EXDATE; RECURRENCE-ID overrides are applied here."""
    calendar = read_calendar(ics.decode())
    starts: list[datetime] = []
    moved: dict[datetime, datetime] = {}
    for vevent in calendar.vevent_list:
        if hasattr(vevent, "recurrence_id"):
            moved[vevent.recurrence_id.value.astimezone(UTC)] = vevent.dtstart.value
        elif hasattr(vevent, "rrule"):
            starts.extend(vevent.getrruleset(addRDate=True))
        else:
            starts.append(vevent.dtstart.value)
    utc = [s.astimezone(UTC) for s in starts]
    return sorted(moved.get(s, s).astimezone(UTC) for s in utc)


def z(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


SERIES_ACROSS_DST = [z("2027-02-23T23:00Z"), z("2027-03-02T23:00Z"),
                     z("2027-03-09T23:00Z"), z("2027-03-16T22:00Z")]  # fmt: skip


@pytest.mark.parametrize("tzid", [None, CUSTOM_TZID], ids=["iana-tzid", "vtimezone-only"])
@pytest.mark.parametrize("parse", [utc_starts_icalendar, utc_starts_vobject])
def test_weekly_series_stays_at_18_local_across_the_dst_change(parse, tzid):
    ics = build_invite(weekly(count=4))
    if tzid:
        ics = ics.replace(b"America/New_York", tzid)
    assert parse(ics) == SERIES_ACROSS_DST


def test_weekly_series_is_one_recurring_vevent_with_wall_clock_start():
    ics = build_invite(weekly(count=4))
    calendar = icalendar.Calendar.from_ical(ics)
    (vevent,) = calendar.walk("VEVENT")
    assert vevent["RRULE"].to_ical() == b"FREQ=WEEKLY;COUNT=4"
    assert b"DTSTART;TZID=America/New_York:20270223T180000\r\n" in ics
    assert b"DTEND;TZID=America/New_York:20270223T185000\r\n" in ics


@pytest.mark.parametrize("parse", [utc_starts_icalendar, utc_starts_vobject])
def test_exdate_removes_one_occurrence(parse):
    cancelled = datetime(2027, 3, 9, 18, tzinfo=NY)
    ics = build_invite(weekly(count=4, exdates=(cancelled,)))
    assert b"EXDATE;TZID=America/New_York:20270309T180000\r\n" in ics
    assert parse(ics) == [s for s in SERIES_ACROSS_DST if s != z("2027-03-09T23:00Z")]


@pytest.mark.parametrize("parse", [utc_starts_icalendar, utc_starts_vobject])
def test_override_moves_one_occurrence(parse):
    original = datetime(2027, 3, 16, 18, tzinfo=NY)
    moved = make_event(
        sequence=1,
        start=datetime(2027, 3, 17, 9, tzinfo=NY),
        end=datetime(2027, 3, 17, 9, 50, tzinfo=NY),
        recurrence_id=original,
    )
    ics = build_invite(weekly(count=4, overrides=(moved,)))
    assert b"RECURRENCE-ID;TZID=America/New_York:20270316T180000\r\n" in ics
    expected = [*SERIES_ACROSS_DST[:3], z("2027-03-17T13:00Z")]
    assert parse(ics) == expected


def test_series_until_is_written_in_utc_and_bounds_the_occurrences():
    ics = build_invite(weekly(until=datetime(2027, 3, 9, 18, tzinfo=NY)))
    assert b"RRULE:FREQ=WEEKLY;UNTIL=20270309T230000Z\r\n" in ics
    assert utc_starts_icalendar(ics) == SERIES_ACROSS_DST[:3]
    assert utc_starts_vobject(ics) == SERIES_ACROSS_DST[:3]


def test_invite_has_the_imip_properties():
    ics = build_invite(make_event())
    calendar = icalendar.Calendar.from_ical(ics)
    assert calendar["METHOD"] == "REQUEST"
    assert calendar["VERSION"] == "2.0"
    assert calendar["PRODID"]
    (vevent,) = calendar.walk("VEVENT")
    assert vevent["UID"] == UID
    assert vevent["SEQUENCE"] == 0
    assert vevent["DTSTAMP"].dt == datetime(2027, 1, 10, 12, tzinfo=UTC)
    assert vevent["STATUS"] == "CONFIRMED"
    assert vevent["ORGANIZER"] == "mailto:sessions@teletherapy.test"
    assert vevent["ORGANIZER"].params["CN"] == "Teletherapy"
    attendees = vevent["ATTENDEE"]
    assert [str(a) for a in attendees] == [
        "mailto:client1@demo.test",
        "mailto:therapist1@demo.test",
    ]
    assert attendees[0].params["CN"] == "Client One"
    assert "CN" not in attendees[1].params
    for attendee in attendees:
        assert attendee.params["PARTSTAT"] == "NEEDS-ACTION"
        assert attendee.params["RSVP"] == "FALSE"
    assert vevent["DTSTART"].params["TZID"] == "America/New_York"
    assert vevent["DTSTART"].dt.astimezone(UTC) == z("2027-02-23T23:00Z")
    assert vevent["DTEND"].dt.astimezone(UTC) == z("2027-02-23T23:50Z")
    assert vevent["LOCATION"] == "https://meet.example.test/abc"
    assert [tz["TZID"] for tz in calendar.walk("VTIMEZONE")] == ["America/New_York"]
    assert calendar.get_missing_tzids() == set()
    assert b"\r\n" in ics and b"\n" not in ics.replace(b"\r\n", b"")


def test_cancel_keeps_the_uid_raises_the_sequence_and_is_cancelled():
    request = icalendar.Calendar.from_ical(build_invite(make_event(sequence=2)))
    cancel = icalendar.Calendar.from_ical(build_invite(make_event(sequence=3), method="CANCEL"))
    assert cancel["METHOD"] == "CANCEL"
    (before,) = request.walk("VEVENT")
    (after,) = cancel.walk("VEVENT")
    assert after["UID"] == before["UID"]
    assert after["SEQUENCE"] > before["SEQUENCE"]
    assert after["STATUS"] == "CANCELLED"


def test_cancelling_a_series_drops_its_overrides_and_keeps_the_rule():
    moved = make_event(
        start=datetime(2027, 3, 17, 9, tzinfo=NY),
        end=datetime(2027, 3, 17, 9, 50, tzinfo=NY),
        recurrence_id=datetime(2027, 3, 16, 18, tzinfo=NY),
    )
    event = dataclasses.replace(weekly(count=4, overrides=(moved,)), sequence=5)
    calendar = icalendar.Calendar.from_ical(build_invite(event, method="CANCEL"))
    (vevent,) = calendar.walk("VEVENT")
    assert vevent["STATUS"] == "CANCELLED"
    assert "RRULE" in vevent


def test_one_occurrence_can_be_cancelled_by_recurrence_id():
    original = datetime(2027, 3, 9, 18, tzinfo=NY)
    single = make_event(sequence=1, recurrence_id=original,
                        start=original, end=original + timedelta(minutes=50))  # fmt: skip
    calendar = icalendar.Calendar.from_ical(build_invite(single, method="CANCEL"))
    (vevent,) = calendar.walk("VEVENT")
    assert vevent["RECURRENCE-ID"].dt.astimezone(UTC) == z("2027-03-09T23:00Z")
    assert vevent["STATUS"] == "CANCELLED"


def test_vobject_reads_each_calendar_in_its_own_time_zones():
    """Our VTIMEZONEs cover only the years of their events; vobject keeps the first one it
    read for a TZID, so tests read through read_calendar, which forgets it each time."""
    for year in (2027, 2028, 2030):
        # 18:00 New York the Wednesday after the March change (EDT: 22:00Z).
        march = date(year, 3, 1)
        second_sunday = march + timedelta(days=(6 - march.weekday()) % 7 + 7)
        start = datetime.combine(second_sunday + timedelta(days=3), time(18), tzinfo=NY)
        ics = build_invite(make_event(start=start, end=start + timedelta(minutes=50)))
        read = read_calendar(ics.decode()).vevent.dtstart.value
        assert read.astimezone(UTC) == start.astimezone(UTC) == start.replace(hour=22, tzinfo=UTC)


def test_event_text_is_escaped_and_round_trips():
    text = "Session with Ana R.; room 3, floor 2 — niño"
    calendar = icalendar.Calendar.from_ical(build_invite(make_event(summary=text)))
    (vevent,) = calendar.walk("VEVENT")
    assert vevent["SUMMARY"] == text
    assert (
        read_calendar(build_invite(make_event(summary=text)).decode()).vevent.summary.value == text
    )


def test_utc_events_are_written_with_z_and_need_no_vtimezone():
    ics = build_invite(make_event(time_zone="UTC"))
    assert b"DTSTART:20270223T230000Z\r\n" in ics
    assert b"VTIMEZONE" not in ics


def test_each_zone_used_gets_a_vtimezone():
    london = make_event(uid="other@x", time_zone="Europe/London")
    calendar = icalendar.Calendar.from_ical(build_feed([make_event(), london], "Sessions"))
    assert sorted(tz["TZID"] for tz in calendar.walk("VTIMEZONE")) == [
        "America/New_York",
        "Europe/London",
    ]


# --------------------------------------------------------------------------- VTIMEZONE


@pytest.mark.parametrize(
    "time_zone",
    ["America/New_York", "Europe/London", "Asia/Kolkata", "Australia/Lord_Howe",
     "Pacific/Auckland", "America/Sao_Paulo", "Africa/Casablanca"],
)  # fmt: skip
def test_vtimezone_gives_the_same_offsets_as_tzdata_daily_and_around_each_change(time_zone):
    """Read the way a calendar reads DTSTART;TZID: a wall time (and fold) to an offset.

    (The parser's own UTC-to-local conversion is not used: dateutil's tzical gets it
    wrong for Lord Howe's 30-minute shift, while the wall-to-offset direction is right.)
    """
    component = vtimezone(time_zone, date(2026, 1, 1), date(2029, 1, 1))
    ics = component.to_ical().replace(time_zone.encode(), CUSTOM_TZID)
    parsed = icalendar.Timezone.from_ical(ics).to_tz(lookup_tzid=False)
    zone = ZoneInfo(time_zone)
    for instant in _samples(zone, datetime(2026, 1, 1, 12, tzinfo=UTC), 3 * 365):
        local = instant.astimezone(zone)
        wall = local.replace(tzinfo=parsed)
        assert wall.utcoffset() == local.utcoffset(), local


def _samples(zone: ZoneInfo, begin: datetime, days: int) -> list[datetime]:
    """Noon UTC every day, plus every 15 minutes in the two days around each offset change."""
    daily = [begin + timedelta(days=d) for d in range(days)]
    dense: list[datetime] = []
    for before, after in itertools.pairwise(daily):
        if before.astimezone(zone).utcoffset() != after.astimezone(zone).utcoffset():
            dense.extend(
                before - timedelta(hours=12) + timedelta(minutes=15 * i) for i in range(193)
            )
    return daily + dense


def test_vtimezone_onsets_use_the_wall_clock_before_the_change_one_rdate_per_line():
    ics = vtimezone("America/New_York", date(2026, 1, 1), date(2029, 1, 1)).to_ical()
    lines = ics.decode().split("\r\n")
    # Spring forward at 02:00 EST, fall back at 02:00 EDT (RFC 5545 §3.6.5).
    assert "DTSTART:20260308T020000" in lines
    assert "DTSTART:20261101T020000" in lines
    rdates = [line for line in lines if line.startswith("RDATE")]
    assert rdates == [
        "RDATE:20270314T020000",
        "RDATE:20280312T020000",
        "RDATE:20271107T020000",
        "RDATE:20281105T020000",
    ]


def test_vtimezone_window_follows_the_events():
    ics = build_invite(weekly(count=60))  # Feb 2027 .. Apr 2028
    (component,) = icalendar.Calendar.from_ical(ics).walk("VTIMEZONE")
    text = component.to_ical().decode()
    assert "DTSTART:20270101T000000" in text
    assert "20280312T020000" in text
    assert "2026" not in text and "2029" not in text


# --------------------------------------------------------------------------- feeds


def test_feed_has_the_subscription_properties():
    cancelled = make_event(uid="b-13@x", sequence=1, status="CANCELLED",
                           start=datetime(2027, 3, 16, 18, tzinfo=NY),
                           end=datetime(2027, 3, 16, 18, 50, tzinfo=NY))  # fmt: skip
    ics = build_feed([make_event(), cancelled], "Teletherapy sessions")
    lines = ics.decode().split("\r\n")
    for line in (
        "METHOD:PUBLISH",
        "X-WR-CALNAME:Teletherapy sessions",
        "NAME:Teletherapy sessions",
        "REFRESH-INTERVAL;VALUE=DURATION:PT1H",
        "X-PUBLISHED-TTL:PT1H",
    ):
        assert line in lines
    calendar = icalendar.Calendar.from_ical(ics)
    assert "UID" not in calendar  # no random calendar UID
    statuses = {e["UID"]: e["STATUS"] for e in calendar.walk("VEVENT")}
    assert statuses == {UID: "CONFIRMED", "b-13@x": "CANCELLED"}
    assert all("ATTENDEE" not in e for e in calendar.walk("VEVENT"))
    # The independent parser reads the feed too.
    parsed = read_calendar(ics.decode())
    assert sorted(e.dtstart.value.astimezone(UTC) for e in parsed.vevent_list) == [
        z("2027-02-23T23:00Z"),
        z("2027-03-16T22:00Z"),
    ]


def test_feed_refresh_interval_follows_the_argument():
    ics = build_feed([make_event()], "Sessions", refresh_minutes=15)
    assert b"REFRESH-INTERVAL;VALUE=DURATION:PT15M\r\n" in ics
    assert b"X-PUBLISHED-TTL:PT15M\r\n" in ics


def test_same_input_gives_the_same_bytes_in_any_order():
    events = [make_event(uid=f"b-{i}@x", start=make_event().start + timedelta(days=i),
                         end=make_event().end + timedelta(days=i)) for i in range(5)]  # fmt: skip
    first = build_feed(events, "Sessions")
    assert build_feed(list(reversed(events)), "Sessions") == first
    assert build_feed(events, "Sessions") == first
    assert build_invite(weekly(count=4)) == build_invite(weekly(count=4))


def test_empty_feed_is_valid():
    calendar = icalendar.Calendar.from_ical(build_feed([], "Sessions"))
    assert calendar["METHOD"] == "PUBLISH"
    assert calendar.walk("VEVENT") == []


# --------------------------------------------------------------------------- links


def test_google_link_carries_utc_times_zone_and_recurrence():
    parts = urlsplit(google_calendar_url(weekly(count=4)))
    assert (parts.scheme, parts.netloc, parts.path) == (
        "https",
        "calendar.google.com",
        "/calendar/render",
    )
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert query["action"] == "TEMPLATE"
    assert query["text"] == "Appointment"
    assert query["dates"] == "20270223T230000Z/20270223T235000Z"
    assert query["ctz"] == "America/New_York"
    assert query["recur"] == "RRULE:FREQ=WEEKLY;COUNT=4"
    assert query["location"] == "https://meet.example.test/abc"


@pytest.mark.parametrize(
    ("office365", "host"), [(False, "outlook.live.com"), (True, "outlook.office.com")]
)
def test_outlook_link_carries_utc_times(office365, host):
    parts = urlsplit(
        outlook_calendar_url(make_event(summary="Session with Ana"), office365=office365)
    )
    assert parts.netloc == host
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert query["rru"] == "addevent"
    assert query["subject"] == "Session with Ana"
    assert query["startdt"] == "2027-02-23T23:00:00Z"
    assert query["enddt"] == "2027-02-23T23:50:00Z"
    assert query["body"] == "Join: https://meet.example.test/abc"


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"start": datetime(2027, 2, 23, 18)}, "timezone-aware"),
        ({"end": datetime(2027, 2, 23, 17, tzinfo=NY)}, "end after it starts"),
        ({"time_zone": "Mars/Olympus"}, "unknown time zone"),
        ({"recurrence": WeeklySeries()}, "exactly one of count and until"),
        ({"recurrence": WeeklySeries(count=2, until=datetime(2027, 3, 1, tzinfo=UTC))},
         "exactly one"),
        ({"recurrence": WeeklySeries(count=0)}, "at least 1"),
    ],
)  # fmt: skip
def test_invalid_events_are_refused(changes, message):
    with pytest.raises(ValueError, match=message):
        build_invite(make_event(**changes))


def test_unknown_method_is_refused():
    with pytest.raises(ValueError, match="method"):
        build_invite(make_event(), method="PUBLISH")  # type: ignore[arg-type]


def test_override_needs_the_series_uid_and_a_recurrence_id():
    stray = make_event(uid="other@x", recurrence_id=datetime(2027, 3, 2, 18, tzinfo=NY))
    with pytest.raises(ValueError, match="uid"):
        build_invite(weekly(count=4, overrides=(stray,)))
    with pytest.raises(ValueError, match="recurrence_id"):
        build_invite(weekly(count=4, overrides=(make_event(),)))


def test_no_comma_separated_rdate_anywhere_in_a_long_feed():
    events = [make_event(uid=f"b-{y}@x", start=datetime(y, 6, 1, 18, tzinfo=NY),
                         end=datetime(y, 6, 1, 19, tzinfo=NY)) for y in (2026, 2030)]  # fmt: skip
    ics = build_feed(events, "Sessions").decode()
    rdates = [line for line in ics.split("\r\n") if line.startswith("RDATE")]
    assert len(rdates) == 2 * 4  # two transitions a year, the first of each is a DTSTART
    assert not [line for line in rdates if re.search(r",", line)]


def test_a_feed_assembled_from_kept_event_texts_is_the_same_bytes_as_built_whole():
    from teletherapy.gateways.ics import assemble_feed, feed_zone_windows, render_feed_event

    zone = "America/New_York"
    events = [
        make_event(
            uid=f"feed-{i}@teletherapy.test",
            start=datetime(2026, 12, 30, 14, tzinfo=UTC) + timedelta(days=i),
            end=datetime(2026, 12, 30, 15, tzinfo=UTC) + timedelta(days=i),
            time_zone=zone,
        )
        for i in range(5)  # across the new year: two years of VTIMEZONE
    ]
    whole = build_feed(events, "Sessions", refresh_minutes=30)
    windows = feed_zone_windows(zone, [t for e in events for t in (e.start, e.end)])
    parts = assemble_feed(
        [render_feed_event(e) for e in events], windows, "Sessions", refresh_minutes=30
    )
    assert parts == whole
    assert feed_zone_windows("UTC", [events[0].start]) == {}
    assert feed_zone_windows(zone, []) == {}
    with pytest.raises(ValueError):
        assemble_feed([], {}, "Sessions", refresh_minutes=0)


def _invite_built_whole(event: IcsEvent, method: str) -> bytes:
    """An invite as one icalendar Calendar serialised at once (before the kept header)."""
    from teletherapy.gateways import ics

    cancel = method == "CANCEL"
    components = ics._event_components(
        event, with_attendees=True, force_cancelled=cancel, with_overrides=not cancel
    )
    calendar = icalendar.Calendar()
    for name, value in (("PRODID", ics.PRODID), ("VERSION", "2.0"),
                        ("CALSCALE", "GREGORIAN"), ("METHOD", method)):  # fmt: skip
        calendar.add(name, value)
    for time_zone, (first, last) in sorted(ics._zone_windows([event]).items()):
        calendar.add_component(vtimezone(time_zone, first, last))
    for component in components:
        calendar.add_component(component)
    data: bytes = calendar.to_ical()
    return data


@pytest.mark.parametrize("method", ["REQUEST", "CANCEL"])
@pytest.mark.parametrize(
    "event",
    [
        make_event(),
        make_event(time_zone="UTC"),
        make_event(  # across a new year: two years of the zone
            start=datetime(2027, 12, 31, 23, 30, tzinfo=NY),
            end=datetime(2028, 1, 1, 0, 20, tzinfo=NY),
        ),
        make_event(recurrence_id=datetime(2027, 2, 16, 18, 0, tzinfo=NY)),
        weekly(count=12, exdates=(datetime(2027, 3, 2, 18, 0, tzinfo=NY),)),
        weekly(
            until=datetime(2028, 2, 1, tzinfo=UTC),
            overrides=(
                make_event(  # moved into another zone's afternoon
                    start=datetime(2027, 3, 10, 15, 0, tzinfo=ZoneInfo("Europe/Berlin")),
                    end=datetime(2027, 3, 10, 15, 50, tzinfo=ZoneInfo("Europe/Berlin")),
                    time_zone="Europe/Berlin",
                    recurrence_id=datetime(2027, 3, 9, 18, 0, tzinfo=NY),
                ),
            ),
        ),
    ],
    ids=["single", "utc", "new-year", "one-occurrence", "series", "series-moved-abroad"],
)
def test_an_invite_is_the_same_bytes_as_the_calendar_built_whole(
    event: IcsEvent, method: str
) -> None:
    assert build_invite(event, method) == _invite_built_whole(event, method)  # type: ignore[arg-type]
    again = dataclasses.replace(event, summary="Another person's view", sequence=3)
    assert build_invite(again, method) == _invite_built_whole(again, method)  # type: ignore[arg-type]
