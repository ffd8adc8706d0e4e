"""Outgoing mail: MIME building (with iMIP calendar parts), SMTP delivery and the .eml outbox."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import smtplib
import socket
import ssl
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from email import charset, policy
from email.header import Header
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid, parseaddr
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from teletherapy import clock

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT_SECONDS = 30.0
ICS_FILENAME = "invite.ics"
_METHOD_LINE = re.compile(rb"^METHOD:([A-Z-]+)\r?$", re.MULTILINE)
_LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """One email to one person; `ics` is an iCalendar object whose METHOD is `ics_method`.

    `headers` are extra headers (e.g. a deterministic Message-ID per outbox row so that a
    retried delivery can be recognised as the same message).
    """

    to: str
    subject: str
    text: str
    html: str | None = None
    ics: bytes | None = None
    ics_method: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


class MailError(Exception):
    """Delivery failed; `permanent` failures (5xx) should not be retried."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class Mailer(Protocol):
    """Hands a message over for delivery and returns its Message-ID."""

    def send(self, message: OutgoingMessage) -> str: ...


def ics_method(ics: bytes) -> str | None:
    """The METHOD property of an iCalendar object, if it has one."""
    match = _METHOD_LINE.search(ics)
    return match.group(1).decode("ascii") if match else None


def build_mime(message: OutgoingMessage, sender: str) -> EmailMessage:
    """The MIME message, shaped like the invites Google Calendar and Outlook send.

    multipart/mixed
      multipart/alternative
        text/plain
        text/html                                      (when html is given)
        text/calendar; method=REQUEST; charset=UTF-8   (the iMIP part clients act on)
      application/ics; name=invite.ics                 (attachment for other clients)
    """
    if message.ics is None:
        with contextlib.suppress(UnicodeEncodeError):  # an address outside ASCII: below
            return _plain_mime(message, sender)
    mime = EmailMessage(policy=policy.SMTP)
    mime["From"] = sender
    mime["To"] = message.to
    mime["Subject"] = message.subject
    mime["Date"] = format_datetime(clock.utcnow())
    mime["MIME-Version"] = "1.0"
    for name, value in message.headers.items():
        if name.lower() in {"from", "to", "subject", "mime-version"}:
            raise ValueError(f"{name} is set from the message fields, not from headers")
        if name in mime:
            del mime[name]
        mime[name] = value
    if "Message-ID" not in mime:
        mime["Message-ID"] = make_msgid(domain=_domain(sender))

    mime.set_content(message.text, subtype="plain", charset="utf-8")
    if message.html is not None:
        mime.add_alternative(message.html, subtype="html", charset="utf-8")
    if message.ics is None:
        return mime

    method = _checked_method(message)
    # base64 keeps the calendar's CRLF line ends and UTF-8 bytes exactly as built.
    # The email package writes parameters quoted (method="REQUEST"): RFC 2045 makes that
    # the same as the token form Google and Outlook write.
    mime.add_alternative(
        message.ics,
        maintype="text",
        subtype="calendar",
        params={"method": method, "charset": "UTF-8"},
        cte="base64",
    )
    mime.make_mixed()
    mime.add_attachment(
        message.ics,
        maintype="application",
        subtype="ics",
        filename=ICS_FILENAME,
        params={"name": ICS_FILENAME},
        cte="base64",
    )
    # The email package stamps MIME-Version on every part; it belongs on the top only.
    for part in mime.walk():
        if part is not mime:
            del part["MIME-Version"]
    return mime


class FileMailer:
    """Writes each message as an .eml file (the default outside production)."""

    def __init__(self, directory: str | os.PathLike[str], *, sender: str) -> None:
        self.directory = Path(directory)
        self.sender = sender

    def send(self, message: OutgoingMessage) -> str:
        mime = build_mime(message, self.sender)
        message_id = str(mime["Message-ID"])
        self.directory.mkdir(parents=True, exist_ok=True)
        stem = clock.utcnow().strftime("%Y%m%dT%H%M%S%fZ") + "-" + _file_safe(message_id)
        # Write then rename, so a reader never sees half a message.
        fd, tmp = tempfile.mkstemp(dir=self.directory, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(mime.as_bytes())
            os.replace(tmp, self.directory / f"{stem}.eml")
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        logger.info("mail written to outbox", extra={"message_id": message_id})
        return message_id


class SmtpMailer:
    """Delivers over SMTP from a URL.

    - ``smtp://user:pass@host:587``: STARTTLS whenever the server offers it;
      ``?starttls=required`` refuses to go on without it. Default port 25.
    - ``smtps://user:pass@host:465``: TLS from the first byte. Default port 465.
    - No user in the URL: no AUTH. User and password are percent-decoded.
    """

    def __init__(
        self,
        url: str,
        *,
        sender: str,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        ssl_context: ssl.SSLContext | None = None,
        local_hostname: str | None = None,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps"):
            raise ValueError(f"MAIL_URL must start with smtp:// or smtps://, not {parts.scheme!r}")
        if not parts.hostname:
            raise ValueError("MAIL_URL needs a host")
        self.implicit_tls = parts.scheme == "smtps"
        self.host = parts.hostname
        self.port = parts.port or (465 if self.implicit_tls else 25)
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else ""
        query = parse_qs(parts.query)
        starttls = query.get("starttls", ["auto"])[0]
        if starttls not in ("auto", "required"):
            raise ValueError("starttls must be 'auto' or 'required'")
        self.starttls_required = starttls == "required"
        self.sender = sender
        self.timeout = timeout
        self.ssl_context = ssl_context or ssl.create_default_context()
        self.local_hostname = local_hostname
        self._batch: list[smtplib.SMTP] | None = None

    def __repr__(self) -> str:  # never show the password
        return f"SmtpMailer(host={self.host!r}, port={self.port}, user={self.username!r})"

    def send(self, message: OutgoingMessage) -> str:
        mime = build_mime(message, self.sender)
        message_id = str(mime["Message-ID"])
        envelope_from = parseaddr(self.sender)[1]
        envelope_to = parseaddr(message.to)[1]
        if not envelope_to:
            raise MailError(f"no address in {message.to!r}", permanent=True)
        try:
            if self._batch is None:
                with self._connect() as smtp:
                    smtp.send_message(mime, from_addr=envelope_from, to_addrs=[envelope_to])
            else:
                self._send_in_batch(mime, envelope_from, envelope_to)
        # Only a refusal of this message or recipient is permanent; a refused login or
        # sender is our configuration, which an operator can fix before the retries end.
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            raise MailError(
                f"recipient refused ({codes})", permanent=all(c >= 500 for c in codes)
            ) from exc
        except smtplib.SMTPDataError as exc:
            raise MailError(
                f"message refused ({exc.smtp_code})", permanent=exc.smtp_code >= 500
            ) from exc
        except (smtplib.SMTPException, OSError) as exc:
            # Connection refused, timeouts, TLS failures, dropped connections: try again.
            raise MailError(f"SMTP delivery failed: {type(exc).__name__}") from exc
        logger.info("mail handed to SMTP", extra={"message_id": message_id})
        return message_id

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Send every message inside on one connection (opened on the first, reopened
        after a failure), closed at the end: a sweep's batch pays one handshake."""
        self._batch = []
        try:
            yield
        finally:
            for smtp in self._batch:
                _close_quietly(smtp)
            self._batch = None

    def _send_in_batch(self, mime: EmailMessage, envelope_from: str, envelope_to: str) -> None:
        assert self._batch is not None
        if not self._batch:
            self._batch.append(self._connect())
        smtp = self._batch[0]
        try:
            smtp.send_message(mime, from_addr=envelope_from, to_addrs=[envelope_to])
        except smtplib.SMTPRecipientsRefused:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                smtp.rset()  # the connection is fine; only this message was refused
            raise
        except BaseException:
            self._batch.clear()  # a broken connection is not reused
            _close_quietly(smtp)
            raise

    def _connect(self) -> smtplib.SMTP:
        smtp: smtplib.SMTP
        if self.implicit_tls:
            smtp = smtplib.SMTP_SSL(
                self.host,
                self.port,
                local_hostname=self.local_hostname,
                timeout=self.timeout,
                context=self.ssl_context,
            )
        else:
            smtp = smtplib.SMTP(
                self.host, self.port, local_hostname=self.local_hostname, timeout=self.timeout
            )
        try:
            smtp.ehlo()
            if not self.implicit_tls:
                if smtp.has_extn("starttls"):
                    smtp.starttls(context=self.ssl_context)
                    smtp.ehlo()
                elif self.starttls_required:
                    raise MailError("the SMTP server does not offer STARTTLS")
                elif self.username and self.host not in _LOOPBACK:
                    logger.warning("SMTP AUTH without TLS to %s", self.host)
            if self.username:
                smtp.login(self.username, self.password)
        except BaseException:
            _close_quietly(smtp)
            raise
        return smtp


def mailer_from_config(
    mail_url: str | None,
    outbox_dir: str | os.PathLike[str],
    *,
    sender: str = "Teletherapy <no-reply@localhost>",
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
) -> Mailer:
    """SMTP when MAIL_URL is set, otherwise .eml files in `outbox_dir` (instance/outbox/)."""
    if mail_url:
        return SmtpMailer(mail_url, sender=sender, timeout=timeout)
    return FileMailer(outbox_dir, sender=sender)


# Plain messages (reminders, account emails: most of the outbox) are built with the
# email package's compat32 API: header values are kept as given (encoded words made here)
# instead of being parsed into header objects, which made building a message ~5x dearer.
class _PlainPolicy(policy.Compat32):
    """compat32 writing a short one-line ASCII header as it is (its own folding makes a
    Header object of every value, most of a message's cost); anything else it folds."""

    def _short(self, name: str, value: object) -> str | None:
        if (
            isinstance(value, str)
            and value.isascii()
            and len(name) + len(value) + 2 <= 78
            and "\r" not in value
            and "\n" not in value
        ):
            return f"{name}: {value}{self.linesep}"
        return None

    def fold(self, name: str, value: str) -> str:
        return self._short(name, value) or super().fold(name, value)

    def fold_binary(self, name: str, value: str) -> bytes:
        short = self._short(name, value)
        return short.encode("ascii") if short else super().fold_binary(name, value)


_PLAIN = _PlainPolicy(linesep="\r\n")
_UTF8 = charset.Charset("utf-8")
_UTF8.header_encoding = charset.QP
_UTF8.body_encoding = charset.QP


def _header(value: str) -> str | Header:
    """Text as given when ASCII, else a Header the generator writes as encoded words
    (folded by itself, so long subjects stay one header)."""
    return value if value.isascii() else Header(value, _UTF8, header_name="Subject")


def _address(value: str) -> str:
    """`Name <addr>` with the name as an encoded word when it is not ASCII (an address
    outside ASCII raises UnicodeEncodeError: the caller then builds it the other way)."""
    if value.isascii():
        return value
    name, address = parseaddr(value)
    return formataddr((name, address), charset=_UTF8)


def _text_part(text: str, subtype: str) -> EmailMessage:
    part = EmailMessage(policy=_PLAIN)
    part.set_payload(text, _UTF8)
    part.set_type(f"text/{subtype}")
    del part["MIME-Version"]  # it belongs on the top only
    return part


def _plain_mime(message: OutgoingMessage, sender: str) -> EmailMessage:
    """text/plain, or multipart/alternative with text/html, without a calendar."""
    mime = EmailMessage(policy=_PLAIN)
    mime["From"] = _address(sender)
    mime["To"] = _address(message.to)
    mime["Subject"] = _header(message.subject)
    mime["Date"] = format_datetime(clock.utcnow())
    mime["MIME-Version"] = "1.0"
    for name, value in message.headers.items():
        if name.lower() in {"from", "to", "subject", "mime-version"}:
            raise ValueError(f"{name} is set from the message fields, not from headers")
        del mime[name]
        mime[name] = _header(value)
    if "Message-ID" not in mime:
        mime["Message-ID"] = make_msgid(domain=_domain(sender))
    if message.html is None:
        mime.set_payload(message.text, _UTF8)
        mime.set_type("text/plain")
        return mime
    mime.set_type("multipart/alternative")
    mime.attach(_text_part(message.text, "plain"))
    mime.attach(_text_part(message.html, "html"))
    return mime


def _checked_method(message: OutgoingMessage) -> str:
    assert message.ics is not None
    found = ics_method(message.ics)
    if found is None:
        raise ValueError("an emailed calendar needs a METHOD (iMIP)")
    if message.ics_method is not None and message.ics_method.upper() != found:
        raise ValueError(f"ics_method {message.ics_method!r} differs from METHOD:{found}")
    return found


def _domain(sender: str) -> str:
    address = parseaddr(sender)[1]
    return address.rpartition("@")[2] or socket.getfqdn()


def _file_safe(message_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9.@_-]", "", message_id)[:120]


def _close_quietly(smtp: smtplib.SMTP) -> None:
    with contextlib.suppress(OSError):
        smtp.close()
