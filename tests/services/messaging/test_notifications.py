"""Booking hooks: invites (REQUEST, updates, CANCEL), discreet text, reminders on time."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import icalendar
import pytest
import recurring_ical_events
from sqlalchemy import select

from teletherapy.gateways.mail import OutgoingMessage
from teletherapy.models import Booking, OutboxMessage, User
from teletherapy.services.messaging import notifications, outbox, preferences
from tests.booking_rows import add_booking, add_series, move


def z(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class RecordingMailer:
    def __init__(self) -> None:
        self.sent: list[OutgoingMessage] = []

    def send(self, message: OutgoingMessage) -> str:
        self.sent.append(message)
        return f"<{len(self.sent)}@test>"


@pytest.fixture
def people(make_user: Callable[..., User]) -> tuple[User, User]:
    therapist = make_user("therapist", display_name="Ana Rivera", time_zone="America/New_York")
    client = make_user("client", display_name="Sam Lee", time_zone="America/Chicago")
    return therapist, client


def rows(db: Any, **where: Any) -> list[OutboxMessage]:
    query = select(OutboxMessage).order_by(OutboxMessage.id)
    for name, value in where.items():
        query = query.where(getattr(OutboxMessage, name) == value)
    return list(db.session.scalars(query))


def vevents(ics: bytes) -> list[Any]:
    return list(icalendar.Calendar.from_ical(ics).walk("VEVENT"))


def confirm(db: Any, booking: Booking, now: datetime) -> None:
    notifications.on_booking_confirmed(booking=booking, now=now)
    db.session.commit()


def test_a_discreet_invite_names_no_therapy_in_organizer_or_text(db, people, now, app):
    therapist, client = people
    app.config["CALENDAR_ORGANIZER_EMAIL"] = "calendar@example.org"
    booking = add_booking(db, therapist, client, z("2026-12-08T23:00Z"))
    confirm(db, booking, now)
    by_person = {r.to_address: r for r in rows(db, kind="booking_confirmed")}
    [event] = vevents(by_person[client.email].ics)  # a client: discreet by default
    assert str(event["ORGANIZER"]) == "mailto:calendar@example.org"
    assert event["ORGANIZER"].params["CN"] == "Appointments"
    assert str(event["SUMMARY"]) == "Appointment"
    assert "988" not in str(event["DESCRIPTION"])
    [named] = vevents(by_person[therapist.email].ics)  # a therapist: named, as before
    assert "988" in str(named["DESCRIPTION"])


def test_confirmation_invites_both_parties_with_a_request_ics(db, people, now):
    therapist, client = people
    start = z("2026-12-08T23:00Z")
    booking = add_booking(db, therapist, client, start)
    confirm(db, booking, now)

    invites = rows(db, kind="booking_confirmed")
    assert sorted(r.to_address for r in invites) == sorted([therapist.email, client.email])
    for row in invites:
        assert row.ics_method == "REQUEST"
        assert row.due_at == now and row.booking_id == booking.id
        calendar = icalendar.Calendar.from_ical(row.ics)
        assert calendar["METHOD"] == "REQUEST"
        [event] = vevents(row.ics)
        assert str(event["UID"]) == f"booking-{booking.id}@teletherapy"
        assert int(event["SEQUENCE"]) == 0
        assert event["DTSTART"].dt.astimezone(UTC) == start
        assert event["DTEND"].dt.astimezone(UTC) == start + timedelta(minutes=50)
        assert str(event["ORGANIZER"]) == "mailto:no-reply@teletherapy.test"
        assert str(event["ATTENDEE"]) == f"mailto:{row.to_address}"  # one: the person
        assert str(event["LOCATION"]) == f"http://testserver/sessions/{booking.id}/join"
        assert row.body_html and "Join online" in row.body_text
    by_person = {r.to_address: r for r in invites}
    # Written in each person's own zone.
    assert "5:00 pm CST" in by_person[client.email].body_text
    assert "6:00 pm EST" in by_person[therapist.email].body_text
    zones = {r.to_address: str(vevents(r.ics)[0]["DTSTART"].params.get("TZID")) for r in invites}
    assert zones == {client.email: "America/Chicago", therapist.email: "America/New_York"}


def test_client_sees_appointment_and_therapist_sees_the_name_by_default(db, people, now):
    therapist, client = people
    booking = add_booking(db, therapist, client, z("2026-12-08T23:00Z"))
    confirm(db, booking, now)
    invites = rows(db, kind="booking_confirmed")
    summaries = {r.to_address: str(vevents(r.ics)[0]["SUMMARY"]) for r in invites}
    assert summaries == {client.email: "Appointment", therapist.email: "Session with Sam Lee"}


def test_each_person_can_switch_between_discreet_and_named(db, people, now):
    therapist, client = people
    preferences.update_preferences(user_id=client.id, calendar_detail="named")
    preferences.update_preferences(user_id=therapist.id, calendar_detail="discreet")
    booking = add_booking(db, therapist, client, z("2026-12-08T23:00Z"))
    confirm(db, booking, now)
    invites = rows(db, kind="booking_confirmed")
    summaries = {r.to_address: str(vevents(r.ics)[0]["SUMMARY"]) for r in invites}
    assert summaries == {client.email: "Session with Ana Rivera", therapist.email: "Appointment"}


def test_in_office_and_home_sessions_name_their_place_not_a_link(db, people, now):
    therapist, client = people
    office = add_booking(db, therapist, client, z("2026-12-08T15:00Z"), setting="in_office")
    home = add_booking(db, therapist, client, z("2026-12-09T15:00Z"), setting="home")
    confirm(db, office, now)
    confirm(db, home, now)
    locations = {
        r.booking_id: str(vevents(r.ics)[0]["LOCATION"]) for r in rows(db, kind="booking_confirmed")
    }
    assert locations[home.id] == "Home visit"
    assert "office" in locations[office.id].lower() and "http" not in locations[office.id]


def test_reschedule_sends_the_same_uid_with_a_higher_sequence_and_new_times(db, people, now):
    therapist, client = people
    booking = add_booking(db, therapist, client, z("2026-12-08T23:00Z"))
    confirm(db, booking, now)
    # The booking service may move the row in place ...
    move(booking, z("2026-12-10T23:00Z"))
    notifications.on_booking_rescheduled(old=booking, new=booking, now=now)
    db.session.commit()
    [update] = [r for r in rows(db, kind="booking_rescheduled") if r.to_address == client.email]
    [event] = vevents(update.ics)
    assert str(event["UID"]) == f"booking-{booking.id}@teletherapy"
    assert int(event["SEQUENCE"]) == 1
    assert event["DTSTART"].dt.astimezone(UTC) == z("2026-12-10T23:00Z")
    assert update.ics_method == "REQUEST"

    # ... or replace it with a new row: the calendar event stays the same one.
    booking.status = "cancelled"
    moved = add_booking(db, therapist, client, z("2026-12-11T23:00Z"))
    moved.rescheduled_from_id = booking.id
    notifications.on_booking_rescheduled(old=booking, new=moved, now=now)
    db.session.commit()
    latest = [r for r in rows(db, kind="booking_rescheduled") if r.booking_id == moved.id]
    assert len(latest) == 2
    for row in latest:
        [event] = vevents(row.ics)
        assert str(event["UID"]) == f"booking-{booking.id}@teletherapy"
        assert int(event["SEQUENCE"]) == 2


def test_cancellation_sends_cancel_with_status_cancelled_and_a_higher_sequence(db, people, now):
    therapist, client = people
    booking = add_booking(db, therapist, client, z("2026-12-08T23:00Z"))
    confirm(db, booking, now)
    booking.status, booking.cancelled_at, booking.cancelled_by = "cancelled", now, "client"
    notifications.on_booking_cancelled(booking=booking, now=now)
    db.session.commit()
    cancels = rows(db, kind="booking_cancelled")
    assert len(cancels) == 2
    for row in cancels:
        assert row.ics_method == "CANCEL"
        assert icalendar.Calendar.from_ical(row.ics)["METHOD"] == "CANCEL"
        [event] = vevents(row.ics)
        assert str(event["STATUS"]) == "CANCELLED"
        assert str(event["UID"]) == f"booking-{booking.id}@teletherapy"
        assert int(event["SEQUENCE"]) == 1
        assert "cancelled" in row.subject.lower()


def test_reminders_are_enqueued_for_both_people_at_exact_utc_instants_across_dst(db, people):
    therapist, client = people
    client.time_zone = "Europe/London"
    db.session.commit()
    # 18:00 New York on Sunday 14 March 2027, the day clocks go forward (EDT, -4).
    start = z("2027-03-14T22:00Z")
    booking = add_booking(db, therapist, client, start)
    confirm(db, booking, z("2027-03-01T12:00Z"))
    reminders = rows(db, kind="reminder")
    assert len(reminders) == 4
    due = sorted((r.to_address, r.due_at) for r in reminders)
    # 24 h before is an exact duration: 22:00Z the day before (17:00 EST wall clock).
    assert due == sorted(
        [
            (therapist.email, z("2027-03-13T22:00Z")),
            (therapist.email, z("2027-03-14T21:00Z")),
            (client.email, z("2027-03-13T22:00Z")),
            (client.email, z("2027-03-14T21:00Z")),
        ]
    )
    for row in reminders:
        lead = start - row.due_at
        assert row.expires_at == start - lead / 12
        when = "6:00 pm EDT" if row.to_address == therapist.email else "10:00 pm GMT"
        assert when in row.body_text and when in row.subject


def test_reminders_follow_each_persons_offsets_and_can_be_turned_off(db, people, now):
    therapist, client = people
    preferences.update_preferences(user_id=client.id, reminder_offsets_minutes=[120, 15])
    preferences.update_preferences(user_id=therapist.id, reminders_enabled=False)
    start = z("2026-12-08T23:00Z")
    confirm(db, add_booking(db, therapist, client, start), now)
    reminders = rows(db, kind="reminder")
    assert {r.to_address for r in reminders} == {client.email}
    assert sorted(start - r.due_at for r in reminders) == [
        timedelta(minutes=15),
        timedelta(minutes=120),
    ]


def test_reminders_already_past_their_usefulness_at_booking_time_are_not_enqueued(db, people, now):
    therapist, client = people
    start = now + timedelta(minutes=90)  # the 24 h reminder is useful only until 2 h before
    confirm(db, add_booking(db, therapist, client, start), now)
    reminders = rows(db, kind="reminder")
    assert sorted(start - r.due_at for r in reminders) == [timedelta(hours=1)] * 2


def test_reminders_are_written_in_the_persons_language(db, make_user, now):
    therapist = make_user("therapist", display_name="Ana Rivera")
    client = make_user("client", display_name="Luz", language="es")
    confirm(db, add_booking(db, therapist, client, z("2026-12-08T23:00Z")), now)
    [invite] = rows(db, kind="booking_confirmed", to_address=client.email)
    assert invite.subject.startswith("Su sesión está reservada: mar, 8 dic, 18:00 EST")
    reminders = rows(db, kind="reminder", to_address=client.email)
    assert all(r.subject.startswith("Recordatorio") for r in reminders)


def test_reschedule_replaces_pending_reminders(db, people, now):
    therapist, client = people
    booking = add_booking(db, therapist, client, z("2026-12-08T23:00Z"))
    confirm(db, booking, now)
    old_ids = {r.id for r in rows(db, kind="reminder")}
    move(booking, z("2026-12-10T23:00Z"))
    notifications.on_booking_rescheduled(old=booking, new=booking, now=now)
    db.session.commit()
    db.session.expire_all()
    reminders = rows(db, kind="reminder")
    assert {r.status for r in reminders if r.id in old_ids} == {"cancelled"}
    pending = [r for r in reminders if r.status == "pending"]
    assert len(pending) == 4
    assert {r.due_at for r in pending} == {z("2026-12-09T23:00Z"), z("2026-12-10T22:00Z")}


def test_cancellation_cancels_pending_reminders(db, people, now):
    therapist, client = people
    booking = add_booking(db, therapist, client, z("2026-12-08T23:00Z"))
    confirm(db, booking, now)
    booking.status = "cancelled"
    notifications.on_booking_cancelled(booking=booking, now=now)
    db.session.commit()
    db.session.expire_all()
    assert {r.status for r in rows(db, kind="reminder")} == {"cancelled"}
    mailer = RecordingMailer()
    outbox.dispatch_due(mailer=mailer, now=z("2026-12-08T22:30Z"))
    assert all("Reminder" not in m.subject for m in mailer.sent)


def test_a_reminder_past_its_usefulness_is_marked_expired_not_sent_late(db, people, now):
    therapist, client = people
    start = z("2026-12-08T23:00Z")
    confirm(db, add_booking(db, therapist, client, start), now)
    mailer = RecordingMailer()
    # The dispatcher was down until 1 h 30 min before: the 24 h reminders are useless now.
    result = outbox.dispatch_due(mailer=mailer, now=start - timedelta(minutes=90))
    db.session.expire_all()
    statuses = {(start - r.due_at, r.status) for r in rows(db, kind="reminder")}
    assert statuses == {(timedelta(hours=24), "expired"), (timedelta(hours=1), "pending")}
    assert result.expired == 2
    assert not any(m.subject.startswith("Reminder") for m in mailer.sent)
    outbox.dispatch_due(mailer=mailer, now=start - timedelta(minutes=60))
    assert sum(m.subject.startswith("Reminder") for m in mailer.sent) == 2


def test_a_reminder_of_a_booking_cancelled_after_enqueue_is_never_sent(db, people, now):
    therapist, client = people
    booking = add_booking(db, therapist, client, z("2026-12-08T23:00Z"))
    confirm(db, booking, now)
    # Cancelled without the hook (e.g. by hand): the dispatcher checks at send time.
    booking.status = "cancelled"
    db.session.commit()
    mailer = RecordingMailer()
    for moment in (z("2026-12-07T23:00Z"), z("2026-12-08T22:00Z")):  # 24 h, then 1 h before
        assert outbox.dispatch_due(mailer=mailer, now=moment, limit=50).cancelled == 2
    assert not any(m.subject.startswith("Reminder") for m in mailer.sent)
    db.session.expire_all()
    assert {r.status for r in rows(db, kind="reminder")} == {"cancelled"}


def utc_occurrences(ics: bytes) -> list[datetime]:
    calendar = icalendar.Calendar.from_ical(ics)
    found = recurring_ical_events.of(calendar).between(date(2027, 1, 1), date(2028, 1, 1))
    return sorted(o["DTSTART"].dt.astimezone(UTC) for o in found)


SERIES_STARTS = [z("2027-02-23T23:00Z"), z("2027-03-02T23:00Z"),
                 z("2027-03-09T23:00Z"), z("2027-03-16T22:00Z")]  # fmt: skip


def test_a_weekly_series_is_one_recurring_invite_per_person_across_dst(db, people):
    therapist, client = people
    booked_at = z("2027-02-01T12:00Z")
    series, bookings = add_series(db, therapist, client, SERIES_STARTS[0], count=4)
    assert [b.start_at for b in bookings] == SERIES_STARTS
    for booking in bookings:  # the booking service may call the hook once per week
        notifications.on_booking_confirmed(booking=booking, now=booked_at)
    db.session.commit()
    invites = rows(db, kind="series_confirmed", status="pending")
    assert sorted(r.to_address for r in invites) == sorted([therapist.email, client.email])
    for row in invites:
        [master] = vevents(row.ics)
        assert str(master["UID"]) == f"series-{series.id}@teletherapy"
        assert master["RRULE"]["COUNT"] == [4]
        assert utc_occurrences(row.ics) == SERIES_STARTS
        assert "Tue, Feb 23" in row.subject and "First session: " in row.body_text
    # Reminders for every week, both people, both offsets.
    assert len(rows(db, kind="reminder")) == 4 * 2 * 2


def test_cancelling_one_week_of_a_series_sends_an_exdate_update(db, people):
    therapist, client = people
    now = z("2027-02-01T12:00Z")
    _series, bookings = add_series(db, therapist, client, SERIES_STARTS[0], count=4)
    notifications.on_booking_confirmed(booking=bookings[0], now=now)
    db.session.commit()
    bookings[1].status = "cancelled"
    notifications.on_booking_cancelled(booking=bookings[1], now=now)
    db.session.commit()
    [update] = rows(db, kind="booking_cancelled", to_address=client.email)
    assert update.ics_method == "REQUEST"
    [master] = vevents(update.ics)
    assert int(master["SEQUENCE"]) == 1
    assert utc_occurrences(update.ics) == [SERIES_STARTS[0], *SERIES_STARTS[2:]]
    reminders = rows(db, kind="reminder", booking_id=bookings[1].id)
    assert reminders and {r.status for r in reminders} == {"cancelled"}


def test_moving_one_week_of_a_series_sends_an_override_with_recurrence_id(db, people):
    therapist, client = people
    now = z("2027-02-01T12:00Z")
    _series, bookings = add_series(db, therapist, client, SERIES_STARTS[0], count=4)
    notifications.on_booking_confirmed(booking=bookings[0], now=now)
    db.session.commit()
    week = bookings[2]
    move(week, z("2027-03-10T23:00Z"))
    notifications.on_booking_rescheduled(old=week, new=week, now=now)
    db.session.commit()
    [update] = rows(db, kind="booking_rescheduled", to_address=therapist.email)
    events = vevents(update.ics)
    assert len(events) == 2
    [moved] = [e for e in events if "RECURRENCE-ID" in e]
    assert moved["RECURRENCE-ID"].dt.astimezone(UTC) == SERIES_STARTS[2]
    assert moved["DTSTART"].dt.astimezone(UTC) == z("2027-03-10T23:00Z")
    assert utc_occurrences(update.ics) == [
        SERIES_STARTS[0],
        SERIES_STARTS[1],
        z("2027-03-10T23:00Z"),
        SERIES_STARTS[3],
    ]


def test_cancelling_every_week_of_a_series_cancels_the_series(db, people):
    therapist, client = people
    now = z("2027-02-01T12:00Z")
    _series, bookings = add_series(db, therapist, client, SERIES_STARTS[0], count=4)
    notifications.on_booking_confirmed(booking=bookings[0], now=now)
    db.session.commit()
    for booking in bookings:
        booking.status = "cancelled"
        notifications.on_booking_cancelled(booking=booking, now=now)
    db.session.commit()
    pending = rows(db, kind="booking_cancelled", status="pending")
    # One message per person: each later version superseded the pending earlier one.
    assert sorted(r.to_address for r in pending) == sorted([therapist.email, client.email])
    assert {r.ics_method for r in pending} == {"CANCEL"}


def test_a_fresh_single_booking_writes_its_messages_without_reading_the_outbox(db, people, now):
    """A session this transaction inserted has no messages yet: nothing is looked up or
    superseded (the calendar lock is held meanwhile); what is written is the same."""
    from sqlalchemy import event

    therapist, client = people
    booking = add_booking(db, therapist, client, z("2026-12-08T23:00Z"))
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    engine = db.session.get_bind()
    event.listen(engine, "before_cursor_execute", record)
    try:
        notifications.on_booking_confirmed(booking=booking, now=now, fresh=True)
        db.session.commit()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    touching = [s for s in statements if "outbox_messages" in s]
    assert touching and all(s.lstrip().upper().startswith("INSERT") for s in touching)
    fresh = sorted((r.to_address, r.kind, r.dedupe_key) for r in rows(db))
    assert len([k for _, k, _ in fresh if k == "booking_confirmed"]) == 2
    assert len([k for _, k, _ in fresh if k == "reminder"]) >= 2
    # The same booking confirmed again the ordinary way finds those rows and adds nothing.
    notifications.on_booking_confirmed(booking=booking, now=now)
    db.session.commit()
    assert sorted((r.to_address, r.kind, r.dedupe_key) for r in rows(db)) == fresh


def test_a_sessions_reminders_are_written_once_and_queued_at_each_offset(
    db, people, now, monkeypatch
):
    """Every offset's reminder says the same: one rendering per session and person."""
    therapist, client = people
    preferences.update_preferences(user_id=client.id, reminder_offsets_minutes=[1440, 120, 15])
    preferences.update_preferences(user_id=therapist.id, reminders_enabled=False)
    rendered: list[str] = []
    real = notifications.render_email

    def counting(name: str, **context: Any) -> str:
        rendered.append(name)
        return real(name, **context)

    monkeypatch.setattr(notifications, "render_email", counting)
    confirm(db, add_booking(db, therapist, client, z("2026-12-08T23:00Z")), now)
    reminders = rows(db, kind="reminder")
    assert len(reminders) == 3
    assert len({(r.subject, r.body_text, r.body_html) for r in reminders}) == 1
    assert rendered.count("email/reminder.txt") == 1
    assert rendered.count("email/reminder.html") == 1
