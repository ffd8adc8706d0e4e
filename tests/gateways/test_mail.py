"""gateways/mail.py against a real SMTP server on loopback (aiosmtpd) and the .eml outbox."""

from __future__ import annotations

import dataclasses
import email
import shutil
import ssl
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pytest

from teletherapy.gateways.ics import IcsEvent, Party, build_invite
from teletherapy.gateways.mail import (
    FileMailer,
    MailError,
    OutgoingMessage,
    SmtpMailer,
    build_mime,
    ics_method,
    mailer_from_config,
)
from tests.peers import free_port, peer_missing

pytestmark = pytest.mark.peer

SENDER = "Teletherapy <sessions@teletherapy.test>"
USER, PASSWORD = "mailer", "p@ss:w/rd %"
PASSWORD_IN_URL = "p%40ss%3Aw%2Frd%20%25"


def invite(method: str = "REQUEST") -> bytes:
    ny = ZoneInfo("America/New_York")
    event = IcsEvent(
        uid="booking-12@teletherapy.test",
        sequence=1 if method == "CANCEL" else 0,
        start=datetime(2027, 2, 23, 18, tzinfo=ny),
        end=datetime(2027, 2, 23, 18, 50, tzinfo=ny),
        time_zone="America/New_York",
        summary="Appointment — niño",
        dtstamp=datetime(2027, 1, 10, 12, tzinfo=UTC),
        organizer=Party("sessions@teletherapy.test", "Teletherapy"),
        attendees=(Party("client1@demo.test", "Client One"),),
    )
    return build_invite(event, method=method)  # type: ignore[arg-type]


def message(**changes: Any) -> OutgoingMessage:
    fields: dict[str, Any] = {
        "to": "client1@demo.test",
        "subject": "Your session on Tuesday — confirmed",
        "text": "Your session is booked for Tue 23 Feb 18:00.\n",
        "html": "<p>Your session is booked for <b>Tue 23 Feb 18:00</b>.</p>",
        "ics": invite(),
        "ics_method": "REQUEST",
    }
    fields.update(changes)
    return OutgoingMessage(**fields)


def parts_of(raw: bytes) -> dict[str, EmailMessage]:
    parsed = email.message_from_bytes(raw, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return {part.get_content_type(): part for part in parsed.walk()}


def assert_intact(raw: bytes, sent: OutgoingMessage) -> None:
    parsed = email.message_from_bytes(raw, policy=policy.default)
    assert parsed["Subject"] == sent.subject
    assert parsed["To"] == sent.to
    assert parsed.get_content_type() == "multipart/mixed"
    parts = parts_of(raw)
    # On the wire lines end in CRLF; the text itself is unchanged.
    assert parts["text/plain"].get_content().replace("\r\n", "\n") == sent.text
    assert parts["text/html"].get_content().strip() == sent.html
    calendar_part = parts["text/calendar"]
    assert calendar_part.get_param("method") == sent.ics_method
    assert calendar_part.get_content_charset() == "utf-8"
    assert calendar_part.get_payload(decode=True) == sent.ics
    attachment = parts["application/ics"]
    assert attachment.get_filename() == "invite.ics"
    assert attachment.get_content_disposition() == "attachment"
    assert attachment.get_payload(decode=True) == sent.ics
    calendar = icalendar.Calendar.from_ical(calendar_part.get_payload(decode=True))
    assert calendar["METHOD"] == sent.ics_method
    # The calendar part is an alternative of the text, the file is an attachment.
    alternative = parts["multipart/alternative"]
    assert [p.get_content_type() for p in alternative.iter_parts()] == [
        "text/plain",
        "text/html",
        "text/calendar",
    ]


# --------------------------------------------------------------------------- SMTP peer


@dataclass
class Received:
    envelope_from: str
    recipients: list[str]
    content: bytes
    over_tls: bool
    authenticated: bool


@dataclass
class Recorder:
    """An aiosmtpd handler that keeps every message and can refuse recipients."""

    messages: list[Received] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(
            Received(
                envelope.mail_from,
                list(envelope.rcpt_tos),
                envelope.original_content or envelope.content,
                session.ssl is not None,
                bool(session.authenticated),
            )
        )
        return "250 Message accepted for delivery"


def check_password(server, session, envelope, mechanism, auth_data):
    from aiosmtpd.smtp import AuthResult, LoginPassword

    ok = isinstance(auth_data, LoginPassword) and (
        auth_data.login.decode(),
        auth_data.password.decode(),
    ) == (USER, PASSWORD)
    # handled=False: let aiosmtpd answer (a 535 on failure).
    return AuthResult(success=ok, handled=False)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> tuple[Path, Path]:
    """A throwaway self-signed certificate for 127.0.0.1 (made with the openssl CLI)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        peer_missing("the openssl command is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return cert, key


@pytest.fixture
def server_tls(certificate) -> ssl.SSLContext:
    cert, key = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


@pytest.fixture
def client_tls(certificate) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(certificate[0]))


@pytest.fixture
def smtp_server() -> Iterator[Any]:
    """Start an aiosmtpd server on loopback: smtp_server(**smtp_options) -> (recorder, port)."""
    try:
        from aiosmtpd.controller import Controller
    except ImportError:  # pragma: no cover - dev extras always have it
        peer_missing("aiosmtpd is not installed")
    controllers: list[Any] = []

    def start(**options: Any) -> tuple[Recorder, int]:
        recorder = Recorder()
        port = free_port()
        controller = Controller(recorder, hostname="127.0.0.1", port=port, **options)
        controller.start()
        controllers.append(controller)
        return recorder, port

    yield start
    for controller in controllers:
        controller.stop()


def test_plain_smtp_delivers_the_message_with_the_ics_part_intact(smtp_server):
    recorder, port = smtp_server()
    sent = message()
    message_id = SmtpMailer(f"smtp://127.0.0.1:{port}", sender=SENDER, timeout=5).send(sent)
    (received,) = recorder.messages
    assert received.envelope_from == "sessions@teletherapy.test"
    assert received.recipients == ["client1@demo.test"]
    assert not received.authenticated
    assert_intact(received.content, sent)
    parsed = email.message_from_bytes(received.content, policy=policy.default)
    assert parsed["Message-ID"] == message_id
    assert parsed["From"] == SENDER


def test_starttls_and_auth_with_percent_encoded_password(smtp_server, server_tls, client_tls):
    recorder, port = smtp_server(
        tls_context=server_tls,
        require_starttls=True,
        auth_required=True,
        authenticator=check_password,
    )
    mailer = SmtpMailer(
        f"smtp://{USER}:{PASSWORD_IN_URL}@127.0.0.1:{port}",
        sender=SENDER,
        timeout=5,
        ssl_context=client_tls,
    )
    sent = message(ics=invite("CANCEL"), ics_method="CANCEL", subject="Cancelled")
    mailer.send(sent)
    (received,) = recorder.messages
    assert received.over_tls and received.authenticated
    assert_intact(received.content, sent)


def test_auth_without_tls_when_the_server_allows_it(smtp_server):
    # AUTH offered without TLS (auth_required too would make aiosmtpd warn about itself).
    recorder, port = smtp_server(auth_require_tls=False, authenticator=check_password)
    mailer = SmtpMailer(f"smtp://{USER}:{PASSWORD_IN_URL}@127.0.0.1:{port}", sender=SENDER)
    mailer.send(message())
    (received,) = recorder.messages
    assert received.authenticated and not received.over_tls


def test_implicit_tls_with_smtps(smtp_server, server_tls, client_tls):
    recorder, port = smtp_server(ssl_context=server_tls)
    mailer = SmtpMailer(f"smtps://127.0.0.1:{port}", sender=SENDER, ssl_context=client_tls)
    mailer.send(message())
    (received,) = recorder.messages
    assert_intact(received.content, message())


def test_wrong_password_is_a_temporary_failure(smtp_server):
    _, port = smtp_server(auth_require_tls=False, authenticator=check_password)
    mailer = SmtpMailer(f"smtp://{USER}:nope@127.0.0.1:{port}", sender=SENDER, timeout=5)
    with pytest.raises(MailError) as failure:
        mailer.send(message())
    assert not failure.value.permanent


def test_a_display_name_stays_in_the_header_not_the_envelope(smtp_server):
    recorder, port = smtp_server()
    sent = message(to="Client One <client1@demo.test>")
    SmtpMailer(f"smtp://127.0.0.1:{port}", sender=SENDER, timeout=5).send(sent)
    (received,) = recorder.messages
    assert received.recipients == ["client1@demo.test"]
    assert_intact(received.content, sent)


def test_refused_recipient_is_a_permanent_failure(smtp_server):
    recorder, port = smtp_server()
    recorder.refuse.add("gone@demo.test")
    mailer = SmtpMailer(f"smtp://127.0.0.1:{port}", sender=SENDER, timeout=5)
    with pytest.raises(MailError) as failure:
        mailer.send(message(to="gone@demo.test"))
    assert failure.value.permanent
    assert recorder.messages == []


def test_required_starttls_refuses_a_server_without_it(smtp_server):
    recorder, port = smtp_server()
    mailer = SmtpMailer(f"smtp://127.0.0.1:{port}?starttls=required", sender=SENDER, timeout=5)
    with pytest.raises(MailError, match="STARTTLS"):
        mailer.send(message())
    assert recorder.messages == []


def test_unreachable_server_is_a_temporary_failure():
    mailer = SmtpMailer(f"smtp://127.0.0.1:{free_port()}", sender=SENDER, timeout=2)
    with pytest.raises(MailError) as failure:
        mailer.send(message())
    assert not failure.value.permanent


# --------------------------------------------------------------------------- URL parsing


@pytest.mark.parametrize(
    ("url", "host", "port", "user", "password", "implicit_tls"),
    [
        ("smtp://mail.example.test", "mail.example.test", 25, None, "", False),
        ("smtp://u:s3cret@mail.example.test:587", "mail.example.test", 587, "u", "s3cret", False),
        ("smtps://u%40x:s3%2F@mail.example.test", "mail.example.test", 465, "u@x", "s3/", True),
    ],
)
def test_mail_url_is_parsed(url, host, port, user, password, implicit_tls):
    mailer = SmtpMailer(url, sender=SENDER)
    assert (mailer.host, mailer.port, mailer.username, mailer.password) == (
        host,
        port,
        user,
        password,
    )
    assert mailer.implicit_tls is implicit_tls
    assert not password or password not in repr(mailer)


@pytest.mark.parametrize("url", ["http://x", "smtp://", "smtp://x?starttls=maybe"])
def test_bad_mail_urls_are_refused(url):
    with pytest.raises(ValueError):
        SmtpMailer(url, sender=SENDER)


def test_mailer_from_config_picks_smtp_or_files(tmp_path):
    assert isinstance(mailer_from_config("smtp://localhost:587", tmp_path), SmtpMailer)
    assert isinstance(mailer_from_config(None, tmp_path), FileMailer)
    assert isinstance(mailer_from_config("", tmp_path), FileMailer)


# --------------------------------------------------------------------------- files and MIME


def test_file_mailer_writes_a_parseable_eml(tmp_path):
    outbox = tmp_path / "outbox"
    sent = message()
    message_id = FileMailer(outbox, sender=SENDER).send(sent)
    (written,) = outbox.iterdir()
    assert written.suffix == ".eml"
    raw = written.read_bytes()
    assert_intact(raw, sent)
    assert email.message_from_bytes(raw, policy=policy.default)["Message-ID"] == message_id


def test_build_mime_without_calendar_is_text_and_html_only():
    mime = build_mime(message(ics=None, ics_method=None), SENDER)
    assert mime.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in mime.iter_parts()] == ["text/plain", "text/html"]
    text_only = build_mime(message(ics=None, ics_method=None, html=None), SENDER)
    assert text_only.get_content_type() == "text/plain"


def test_the_mime_method_must_match_the_calendar():
    with pytest.raises(ValueError, match="differs"):
        build_mime(message(ics_method="CANCEL"), SENDER)
    feed_like = invite().replace(b"METHOD:REQUEST\r\n", b"")
    with pytest.raises(ValueError, match="METHOD"):
        build_mime(message(ics=feed_like, ics_method=None), SENDER)
    # Without ics_method the calendar's own METHOD is used.
    mime = build_mime(message(ics=invite("CANCEL"), ics_method=None), SENDER)
    assert parts_of(mime.as_bytes())["text/calendar"].get_param("method") == "CANCEL"


def test_extra_headers_and_a_caller_message_id_are_kept():
    mime = build_mime(
        message(
            headers={
                "Message-ID": "<outbox-41@teletherapy.test>",
                "Auto-Submitted": "auto-generated",
            }
        ),
        SENDER,
    )
    assert mime["Message-ID"] == "<outbox-41@teletherapy.test>"
    assert mime["Auto-Submitted"] == "auto-generated"
    with pytest.raises(ValueError):
        build_mime(message(headers={"To": "someone@else.test"}), SENDER)


def test_ics_method_reads_the_method_line():
    assert ics_method(invite()) == "REQUEST"
    assert ics_method(invite("CANCEL")) == "CANCEL"
    assert ics_method(b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n") is None


class SessionCounter(Recorder):
    """Also notes which SMTP session (connection) carried each message."""

    def __init__(self) -> None:
        super().__init__()
        self.sessions: list[int] = []

    async def handle_DATA(self, server, session, envelope):
        self.sessions.append(id(session))
        return await super().handle_DATA(server, session, envelope)


def test_a_batch_sends_every_message_on_one_connection_and_survives_a_refusal(smtp_server):
    from aiosmtpd.controller import Controller

    recorder = SessionCounter()
    recorder.refuse.add("gone@demo.test")
    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        mailer = SmtpMailer(f"smtp://127.0.0.1:{port}", sender=SENDER, timeout=5)
        with mailer.batch():
            mailer.send(message(to="a@demo.test"))
            with pytest.raises(MailError):
                mailer.send(message(to="gone@demo.test"))
            mailer.send(message(to="b@demo.test"))
        assert [m.recipients for m in recorder.messages] == [["a@demo.test"], ["b@demo.test"]]
        assert len(set(recorder.sessions)) == 1
        mailer.send(message(to="c@demo.test"))  # outside a batch: a connection of its own
        assert len(set(recorder.sessions)) == 2
    finally:
        controller.stop()


def test_a_batch_opens_a_new_connection_after_a_failed_one(smtp_server):
    from aiosmtpd.controller import Controller

    class RefusesData(SessionCounter):
        async def handle_DATA(self, server, session, envelope):
            if "bad@demo.test" in envelope.rcpt_tos:
                return "554 5.6.0 refused"
            return await super().handle_DATA(server, session, envelope)

    recorder = RefusesData()
    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        mailer = SmtpMailer(f"smtp://127.0.0.1:{port}", sender=SENDER, timeout=5)
        with mailer.batch():
            mailer.send(message(to="a@demo.test"))
            with pytest.raises(MailError):
                mailer.send(message(to="bad@demo.test"))
            mailer.send(message(to="b@demo.test"))
        assert len(recorder.messages) == 2 and len(set(recorder.sessions)) == 2
    finally:
        controller.stop()


def test_plain_messages_in_any_language_read_back_exactly():
    """Messages without a calendar are built the cheap way (compat32, encoded words made
    here): names, subjects and bodies in any script, long lines and trailing spaces come
    back exactly as written once a mail program decodes them."""
    text = "第一行 — línea con acentos  \n" + "x" * 200 + "\nfin.\n"
    sent = OutgoingMessage(
        to="Zoë Ng 吴 <zoe@example.org>",
        subject="Recordatorio: su sesión es mañana — " + "ü" * 80,
        text=text,
        html="<p>Ĉu vi venos? 来吗</p>",
        headers={"Message-ID": "<outbox-7@teletherapy.test>"},
    )
    for html in (sent.html, None):
        message = dataclasses.replace(sent, html=html)
        raw = build_mime(message, "Teletherapy <no-reply@teletherapy.test>").as_bytes()
        assert raw.isascii() and all(len(line) <= 998 for line in raw.split(b"\r\n"))
        parsed = email.message_from_bytes(raw, policy=policy.default)
        assert parsed["Subject"] == sent.subject
        assert parsed["To"].addresses[0].display_name == "Zoë Ng 吴"
        assert parsed["To"].addresses[0].addr_spec == "zoe@example.org"
        assert parsed["Message-ID"] == "<outbox-7@teletherapy.test>"
        plain = parsed.get_body(("plain",))
        # Lines end in CRLF on the wire, as every mail program expects.
        assert plain is not None and plain.get_content().replace("\r\n", "\n") == text
        if html is not None:
            rich = parsed.get_body(("html",))
            assert rich is not None and rich.get_content().strip() == html
        assert [p for p in parsed.walk() if p is not parsed and "MIME-Version" in p] == []
