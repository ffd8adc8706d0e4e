"""iCalendar output: iMIP invites (REQUEST/CANCEL), PUBLISH feeds and "add to calendar" links."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Literal, NamedTuple
from urllib.parse import urlencode
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from icalendar import (
    Calendar,
    Event,
    Timezone,
    TimezoneDaylight,
    TimezoneStandard,
    vCalAddress,
    vDuration,
)

PRODID = "-//Teletherapy//Sessions//EN"

Method = Literal["REQUEST", "CANCEL"]
_Windows = tuple[tuple[str, tuple[date, date]], ...]  # (zone, (first, last date)), sorted
_END = b"END:VCALENDAR\r\n"
Status = Literal["CONFIRMED", "CANCELLED"]

_UTC_NAMES = frozenset({"UTC", "Etc/UTC", "Etc/Zulu", "Zulu", "Universal", "Etc/Universal"})
# Sampling step when looking for offset changes; tzdata never has two within 6 hours.
_SCAN_STEP = timedelta(hours=6)


class Party(NamedTuple):
    """A person on an invite: their address and display name (may be empty)."""

    email: str
    name: str = ""


@dataclass(frozen=True, slots=True)
class WeeklySeries:
    """A weekly recurrence of the event's start, bounded by `count` or `until` (exactly one).

    `exdates` are the original starts of cancelled occurrences; `overrides` are moved
    occurrences, each an IcsEvent with the series' uid and `recurrence_id` = original start.
    """

    count: int | None = None
    until: datetime | None = None
    exdates: tuple[datetime, ...] = ()
    overrides: tuple[IcsEvent, ...] = ()


@dataclass(frozen=True, slots=True)
class IcsEvent:
    """One session as calendars see it. The caller chooses the (discreet) text.

    Instants are timezone-aware (any zone); `time_zone` is the IANA zone the times are
    written in, so a weekly series keeps its wall-clock time in that zone across DST.
    `sequence` is the caller's stored counter, raised on every change (CANCEL included).
    """

    uid: str
    sequence: int
    start: datetime
    end: datetime
    time_zone: str
    summary: str
    dtstamp: datetime
    organizer: Party
    attendees: tuple[Party, ...] = ()
    description: str = ""
    location: str = ""
    url: str = ""
    status: Status = "CONFIRMED"
    recurrence: WeeklySeries | None = None
    recurrence_id: datetime | None = None


# --------------------------------------------------------------------------- public API


def build_invite(event: IcsEvent, method: Method = "REQUEST") -> bytes:
    """An iMIP object (RFC 5546) for mail: METHOD, one VEVENT (+ overrides), VTIMEZONEs.

    CANCEL marks the event STATUS:CANCELLED; the caller passes a higher `sequence` than
    the last REQUEST. An event with `recurrence_id` addresses one occurrence of a series.
    """
    if method not in ("REQUEST", "CANCEL"):
        raise ValueError(f"unsupported iMIP method {method!r}")
    cancel = method == "CANCEL"  # cancelling a series cancels its moved occurrences too
    components = _event_components(
        event, with_attendees=True, force_cancelled=cancel, with_overrides=not cancel
    )
    # The header and time zones, made once per method, zone and years, then the events.
    head = _invite_head(method, tuple(sorted(_zone_windows([event]).items())))
    return head + b"".join(c.to_ical() for c in components) + _END


def build_feed(events: Iterable[IcsEvent], calendar_name: str, refresh_minutes: int = 60) -> bytes:
    """A subscription feed (METHOD:PUBLISH); the same events always give the same bytes.

    Events are sorted by (start, uid) so the query order of the caller does not change
    the ETag. Attendees are left out: a published feed is informational, and listing
    attendees makes some clients offer replies to an organizer who is not listening.
    """
    ordered = sorted(events, key=lambda e: (_utc(e.start), e.uid, _recurrence_key(e)))
    return assemble_feed(
        [render_feed_event(event) for event in ordered],
        _zone_windows(ordered),
        calendar_name,
        refresh_minutes=refresh_minutes,
    )


def render_feed_event(event: IcsEvent) -> bytes:
    """One event's text exactly as a feed writes it (callers may keep it and reuse it)."""
    return b"".join(c.to_ical() for c in _event_components(event, with_attendees=False))


def feed_zone_windows(time_zone: str, instants: Iterable[datetime]) -> dict[str, tuple[date, date]]:
    """The VTIMEZONE windows of a feed whose events are all written in `time_zone`."""
    zone = _zone(time_zone)
    years = [i.astimezone(zone).year for i in instants]
    if zone is UTC or not years:
        return {}
    return {time_zone: (date(min(years), 1, 1), date(max(years) + 1, 1, 1))}


def assemble_feed(
    event_texts: Sequence[bytes],
    zone_windows: Mapping[str, tuple[date, date]],
    calendar_name: str,
    *,
    refresh_minutes: int = 60,
) -> bytes:
    """A feed from events already rendered (render_feed_event), in the order given:
    the header, the time zones and a join, the same bytes as building it whole."""
    if refresh_minutes < 1:
        raise ValueError("refresh_minutes must be positive")
    head = _feed_head(tuple(sorted(zone_windows.items())), calendar_name, refresh_minutes)
    return head + b"".join(event_texts) + _END


@functools.lru_cache(maxsize=256)
def _feed_head(zone_windows: _Windows, calendar_name: str, refresh_minutes: int) -> bytes:
    """A feed's header and time zones, made once per zone, window years and name."""
    calendar = _calendar("PUBLISH", zone_windows)
    # NAME (RFC 7986) and X-WR-CALNAME (Apple/Google/Outlook) carry the same name.
    calendar.calendar_name = calendar_name
    refresh = timedelta(minutes=refresh_minutes)
    calendar.add("REFRESH-INTERVAL", vDuration(refresh), parameters={"VALUE": "DURATION"})
    calendar.add("X-PUBLISHED-TTL", vDuration(refresh))
    return _without_end(calendar)


@functools.lru_cache(maxsize=256)
def _invite_head(method: str, zone_windows: _Windows) -> bytes:
    """An invite's calendar up to its events: METHOD and the VTIMEZONEs it needs."""
    return _without_end(_calendar(method, zone_windows))


def _without_end(calendar: Calendar) -> bytes:
    data: bytes = calendar.to_ical()
    if not data.endswith(_END):  # pragma: no cover - icalendar always ends a calendar so
        raise ValueError("unexpected calendar serialisation")
    return data[: -len(_END)]


def google_calendar_url(event: IcsEvent) -> str:
    """Google Calendar's public "add event" template link for this event (or series)."""
    params: dict[str, str] = {
        "action": "TEMPLATE",
        "text": event.summary,
        "dates": f"{_basic_utc(event.start)}/{_basic_utc(event.end)}",
        "ctz": event.time_zone,
    }
    if event.description:
        params["details"] = event.description
    if event.location:
        params["location"] = event.location
    if event.recurrence is not None:
        params["recur"] = "RRULE:" + _rrule_text(event)
    return "https://calendar.google.com/calendar/render?" + urlencode(params)


def outlook_calendar_url(event: IcsEvent, *, office365: bool = False) -> str:
    """Outlook on the web's "add event" compose link (outlook.com, or Microsoft 365).

    Outlook's link cannot carry a recurrence: for a series it adds the first session only
    (offer the .ics download for the whole series).
    """
    host = "outlook.office.com" if office365 else "outlook.live.com"
    params: dict[str, str] = {
        "path": "/calendar/action/compose",
        "rru": "addevent",
        "subject": event.summary,
        "startdt": _utc(event.start).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "enddt": _utc(event.end).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "allday": "false",
    }
    if event.description:
        params["body"] = event.description
    if event.location:
        params["location"] = event.location
    return f"https://{host}/calendar/0/action/compose?" + urlencode(params)


def vtimezone(time_zone: str, first_date: date, last_date: date) -> Timezone:
    """A VTIMEZONE for `time_zone`, exact between two dates, one RDATE per line.

    Written here rather than with icalendar's Timezone.from_tzinfo, which (in 7.x) joins
    RDATEs with commas, which some parsers cut at the first date, and writes
    spring-forward onsets in the new offset's wall clock (03:00, not 02:00, for
    America/New_York). Here each onset is in TZOFFSETFROM's wall clock (RFC 5545 §3.6.5).
    """
    initial, transitions = _transitions(time_zone, first_date, last_date)
    component = Timezone()
    component.add("TZID", time_zone)
    offset, is_dst, name = initial
    first = TimezoneDaylight() if is_dst else TimezoneStandard()
    first.add("DTSTART", datetime.combine(first_date, datetime.min.time()))
    first.add("TZOFFSETFROM", offset)
    first.add("TZOFFSETTO", offset)
    first.add("TZNAME", name)
    component.add_component(first)

    groups: dict[tuple[timedelta, timedelta, str, bool], list[datetime]] = {}
    for transition in transitions:
        key = (transition.offset_from, transition.offset_to, transition.name, transition.is_dst)
        groups.setdefault(key, []).append(transition.onset)
    for (offset_from, offset_to, name, is_dst), onsets in groups.items():
        observance = TimezoneDaylight() if is_dst else TimezoneStandard()
        observance.add("DTSTART", onsets[0])
        for onset in onsets[1:]:
            observance.add("RDATE", onset)
        observance.add("TZOFFSETFROM", offset_from)
        observance.add("TZOFFSETTO", offset_to)
        observance.add("TZNAME", name)
        component.add_component(observance)
    return component


# --------------------------------------------------------------------------- components


def _calendar(method: str, zone_windows: _Windows) -> Calendar:
    # Calendar() rather than Calendar.new(): new() adds a random UID, and the same input
    # must give the same bytes (feed ETags, idempotent outbox rows).
    calendar = Calendar()
    calendar.add("PRODID", PRODID)
    calendar.add("VERSION", "2.0")
    calendar.add("CALSCALE", "GREGORIAN")
    calendar.add("METHOD", method)
    for time_zone, (first_date, last_date) in zone_windows:
        calendar.add_component(vtimezone(time_zone, first_date, last_date))
    return calendar


def _event_components(
    event: IcsEvent,
    *,
    with_attendees: bool,
    force_cancelled: bool = False,
    with_overrides: bool = True,
) -> list[Event]:
    _check_event(event)
    zone = _zone(event.time_zone)
    vevent = _vevent(event, zone, with_attendees=with_attendees, force_cancelled=force_cancelled)
    if event.recurrence_id is not None:
        vevent.add("RECURRENCE-ID", event.recurrence_id.astimezone(zone))
    components = [vevent]
    series = event.recurrence
    if series is None:
        return components
    vevent.add("RRULE", _rrule(event))
    for exdate in sorted(series.exdates, key=_utc):
        vevent.add("EXDATE", _aware(exdate, "exdate").astimezone(zone))
    if with_overrides:
        for override in sorted(series.overrides, key=_recurrence_key):
            if override.uid != event.uid:
                raise ValueError("an override must have the uid of its series")
            if override.recurrence_id is None:
                raise ValueError("an override needs recurrence_id (the original start)")
            if override.recurrence is not None:
                raise ValueError("an override cannot recur itself")
            _check_event(override)
            moved = _vevent(
                override,
                _zone(override.time_zone),
                with_attendees=with_attendees,
                force_cancelled=force_cancelled,
            )
            # RECURRENCE-ID names the original occurrence in the series' own zone.
            moved.add(
                "RECURRENCE-ID", _aware(override.recurrence_id, "recurrence_id").astimezone(zone)
            )
            components.append(moved)
    return components


def _vevent(event: IcsEvent, zone: tzinfo, *, with_attendees: bool, force_cancelled: bool) -> Event:
    vevent = Event()
    vevent.add("UID", event.uid)
    vevent.add("SEQUENCE", event.sequence)
    vevent.add("DTSTAMP", _utc(event.dtstamp))
    vevent.add("DTSTART", event.start.astimezone(zone))
    vevent.add("DTEND", event.end.astimezone(zone))
    vevent.add("SUMMARY", event.summary)
    if event.description:
        vevent.add("DESCRIPTION", event.description)
    if event.location:
        vevent.add("LOCATION", event.location)
    if event.url:
        vevent.add("URL", event.url)
    vevent.add("STATUS", "CANCELLED" if force_cancelled else event.status)
    # Sessions are private: delegates and shared calendars see "busy", not the text.
    vevent.add("CLASS", "PRIVATE")
    vevent.add("TRANSP", "OPAQUE")
    vevent.add("ORGANIZER", _address(event.organizer))
    if with_attendees:
        for attendee in event.attendees:
            address = _address(attendee)
            address.params["CUTYPE"] = "INDIVIDUAL"
            address.params["ROLE"] = "REQ-PARTICIPANT"
            address.params["PARTSTAT"] = "NEEDS-ACTION"
            # We do not process iTIP replies, so do not ask clients to send them.
            address.params["RSVP"] = "FALSE"
            vevent.add("ATTENDEE", address)
    return vevent


def _address(party: Party) -> vCalAddress:
    address = vCalAddress(f"mailto:{party.email}")
    if party.name:
        address.params["CN"] = party.name
    return address


def _rrule(event: IcsEvent) -> dict[str, object]:
    series = event.recurrence
    assert series is not None
    rule: dict[str, object] = {"FREQ": "WEEKLY"}
    if series.count is not None:
        rule["COUNT"] = series.count
    else:
        assert series.until is not None
        # RFC 5545: with a zoned DTSTART, UNTIL must be UTC.
        rule["UNTIL"] = _utc(series.until)
    return rule


def _rrule_text(event: IcsEvent) -> str:
    series = event.recurrence
    assert series is not None
    if series.count is not None:
        return f"FREQ=WEEKLY;COUNT={series.count}"
    assert series.until is not None
    return f"FREQ=WEEKLY;UNTIL={_basic_utc(series.until)}"


# --------------------------------------------------------------------------- validation


def _check_event(event: IcsEvent) -> None:
    for name in ("start", "end", "dtstamp"):
        _aware(getattr(event, name), name)
    if event.end <= event.start:
        raise ValueError("an event must end after it starts")
    if event.sequence < 0:
        raise ValueError("sequence must not be negative")
    if event.status not in ("CONFIRMED", "CANCELLED"):
        raise ValueError(f"unsupported status {event.status!r}")
    _zone(event.time_zone)
    series = event.recurrence
    if series is not None:
        if event.recurrence_id is not None:
            raise ValueError("one occurrence (recurrence_id) cannot carry a recurrence")
        if (series.count is None) == (series.until is None):
            raise ValueError("a weekly series needs exactly one of count and until")
        if series.count is not None and series.count < 1:
            raise ValueError("count must be at least 1")
        if series.until is not None:
            _aware(series.until, "until")


def _aware(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")
    return value


def _zone(time_zone: str) -> tzinfo:
    if time_zone in _UTC_NAMES:
        return UTC  # written as ...Z, no VTIMEZONE needed
    try:
        return ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {time_zone!r}") from exc


def _utc(value: datetime) -> datetime:
    return _aware(value, "instant").astimezone(UTC)


def _basic_utc(value: datetime) -> str:
    return _utc(value).strftime("%Y%m%dT%H%M%SZ")


def _recurrence_key(event: IcsEvent) -> datetime:
    return _utc(event.recurrence_id) if event.recurrence_id else datetime.min.replace(tzinfo=UTC)


# --------------------------------------------------------------------------- time zones


def _zone_windows(events: Sequence[IcsEvent]) -> dict[str, tuple[date, date]]:
    """Per zone used, whole years around every local time written (stable, cacheable)."""
    years: dict[str, list[int]] = {}

    def note(time_zone: str, *instants: datetime | None) -> None:
        zone = _zone(time_zone)
        if zone is UTC:
            return
        bucket = years.setdefault(time_zone, [])
        bucket.extend(i.astimezone(zone).year for i in instants if i is not None)

    for event in events:
        note(event.time_zone, event.start, event.end, event.recurrence_id)
        series = event.recurrence
        if series is None:
            continue
        last = series.until
        if series.count is not None:
            # Weekly wall-clock steps: the last occurrence's local date is exact.
            last = event.end + timedelta(weeks=series.count - 1)
        note(event.time_zone, last, *series.exdates)
        for override in series.overrides:
            note(event.time_zone, override.recurrence_id)
            note(override.time_zone, override.start, override.end)
    return {
        zone: (date(min(found), 1, 1), date(max(found) + 1, 1, 1)) for zone, found in years.items()
    }


class _Transition(NamedTuple):
    onset: datetime  # naive wall clock in offset_from, as RFC 5545 wants
    offset_from: timedelta
    offset_to: timedelta
    name: str
    is_dst: bool


_State = tuple[timedelta, bool, str]


@functools.lru_cache(maxsize=512)
def _transitions(
    time_zone: str, first_date: date, last_date: date
) -> tuple[_State, tuple[_Transition, ...]]:
    zone = ZoneInfo(time_zone)

    def state(instant: datetime) -> _State:
        local = instant.astimezone(zone)
        offset = local.utcoffset() or timedelta()
        dst = local.dst() or timedelta()
        return offset, dst > timedelta(), local.tzname() or _offset_name(offset)

    begin = datetime.combine(first_date, datetime.min.time(), tzinfo=zone).astimezone(UTC)
    finish = datetime.combine(last_date, datetime.min.time(), tzinfo=zone).astimezone(UTC)
    initial = previous = state(begin)
    found: list[_Transition] = []
    cursor = begin
    while cursor < finish:
        step = min(cursor + _SCAN_STEP, finish)
        current = state(step)
        if current != previous:
            # Bisect (in whole seconds) to the first second of the new observance.
            low, high = int(cursor.timestamp()), int(step.timestamp())
            while high - low > 1:
                middle = (low + high) // 2
                if state(datetime.fromtimestamp(middle, UTC)) == previous:
                    low = middle
                else:
                    high = middle
            changed_at = datetime.fromtimestamp(high, UTC)
            offset, is_dst, name = state(changed_at)
            onset = (changed_at + previous[0]).replace(tzinfo=None)
            found.append(_Transition(onset, previous[0], offset, name, is_dst))
            previous = (offset, is_dst, name)
        cursor = step
    return initial, tuple(found)


def _offset_name(offset: timedelta) -> str:
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"
