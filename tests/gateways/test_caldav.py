"""Events from gateways/ics.py stored in a real CalDAV server (Radicale, loopback), read back."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pytest

from teletherapy.gateways.ics import IcsEvent, Party, WeeklySeries, build_invite
from tests.peers import free_port, peer_missing, wait_for_port

pytestmark = [pytest.mark.peer, pytest.mark.slow]

NY = ZoneInfo("America/New_York")


@pytest.fixture(scope="module")
def radicale_url(tmp_path_factory) -> Iterator[str]:
    """A Radicale server on 127.0.0.1 with its own empty config and storage."""
    if importlib.util.find_spec("radicale") is None:
        peer_missing("Radicale is not installed")
    folder = tmp_path_factory.mktemp("radicale")
    config = folder / "config"
    config.write_text("")  # keep any user or system config out of the test
    port = free_port()
    log = (folder / "radicale.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "radicale", "--config", str(config),
         f"--storage-filesystem-folder={folder / 'collections'}",
         f"--server-hosts=127.0.0.1:{port}", "--auth-type=none",
         "--logging-level=warning"],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        if not wait_for_port(port, timeout=30):
            peer_missing(f"Radicale did not start: {Path(log.name).read_text()[-2000:]}")
        yield f"http://127.0.0.1:{port}/"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@pytest.fixture
def calendar(radicale_url, request) -> Any:
    import caldav

    client = caldav.DAVClient(url=radicale_url, username="therapist1", password="unused")
    principal = client.principal()
    return principal.make_calendar(name=f"Sessions {request.node.name}")


def as_caldav_object(ics: bytes) -> bytes:
    """CalDAV stores calendar objects without an iTIP METHOD (RFC 4791 §4.1)."""
    parsed = icalendar.Calendar.from_ical(ics)
    del parsed["METHOD"]
    data: bytes = parsed.to_ical()
    return data


def put(calendar: Any, event: IcsEvent) -> None:
    """PUT our bytes as they are (the caldav client's save() would rewrite and re-sequence)."""
    url = calendar.url.join(f"{event.uid}.ics")
    body = as_caldav_object(build_invite(event))
    response = calendar.client.put(url, body, {"Content-Type": "text/calendar; charset=utf-8"})
    assert response.status in (201, 204), response.status


def make_event(**changes: Any) -> IcsEvent:
    fields: dict[str, Any] = {
        "uid": "booking-12@teletherapy.test",
        "sequence": 0,
        "start": datetime(2027, 2, 23, 18, tzinfo=NY),
        "end": datetime(2027, 2, 23, 18, 50, tzinfo=NY),
        "time_zone": "America/New_York",
        "summary": "Appointment",
        "dtstamp": datetime(2027, 1, 10, 12, tzinfo=UTC),
        "organizer": Party("sessions@teletherapy.test", "Teletherapy"),
        "attendees": (Party("client1@demo.test", "Client One"),),
    }
    fields.update(changes)
    return IcsEvent(**fields)


def starts_in_utc(events: list[Any]) -> list[datetime]:
    found = []
    for event in events:
        for vevent in event.icalendar_instance.walk("VEVENT"):
            found.append(vevent["DTSTART"].dt.astimezone(UTC))
    return sorted(found)


def test_a_single_session_round_trips_through_caldav(calendar):
    event = make_event()
    put(calendar, event)
    stored = calendar.event_by_uid(event.uid)
    (vevent,) = stored.icalendar_instance.walk("VEVENT")
    assert vevent["DTSTART"].params["TZID"] == "America/New_York"
    assert vevent["DTSTART"].dt.astimezone(UTC) == datetime(2027, 2, 23, 23, tzinfo=UTC)
    assert vevent["DTEND"].dt.astimezone(UTC) == datetime(2027, 2, 23, 23, 50, tzinfo=UTC)
    assert vevent["SEQUENCE"] == 0
    assert vevent["SUMMARY"] == "Appointment"


def test_the_server_expands_a_series_across_dst_with_exdate_and_override(calendar):
    moved = make_event(
        start=datetime(2027, 3, 17, 9, tzinfo=NY),
        end=datetime(2027, 3, 17, 9, 50, tzinfo=NY),
        recurrence_id=datetime(2027, 3, 16, 18, tzinfo=NY),
    )
    series = make_event(
        recurrence=WeeklySeries(
            count=5, exdates=(datetime(2027, 3, 2, 18, tzinfo=NY),), overrides=(moved,)
        )
    )
    put(calendar, series)
    window = {
        "start": datetime(2027, 2, 1, tzinfo=UTC),
        "end": datetime(2027, 4, 30, tzinfo=UTC),
    }
    expected = [
        datetime(2027, 2, 23, 23, tzinfo=UTC),  # EST
        datetime(2027, 3, 9, 23, tzinfo=UTC),  # 2 March cancelled (EXDATE)
        datetime(2027, 3, 17, 13, tzinfo=UTC),  # 16 March moved to 17 March 09:00 EDT
        datetime(2027, 3, 23, 22, tzinfo=UTC),  # EDT: still 18:00 local
    ]
    server_side = calendar.search(event=True, expand="server", **window)
    assert starts_in_utc(server_side) == expected
    client_side = calendar.search(event=True, expand="client", **window)
    assert starts_in_utc(client_side) == expected


def test_an_update_with_a_higher_sequence_replaces_the_stored_event(calendar):
    first = make_event()
    put(calendar, first)
    later = first.start + timedelta(days=1)
    put(calendar, make_event(sequence=1, start=later, end=later + timedelta(minutes=50)))
    (vevent,) = calendar.event_by_uid(first.uid).icalendar_instance.walk("VEVENT")
    assert vevent["SEQUENCE"] == 1
    assert vevent["DTSTART"].dt.astimezone(UTC) == datetime(2027, 2, 24, 23, tzinfo=UTC)
    assert len(calendar.events()) == 1
