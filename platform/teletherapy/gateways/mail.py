"""Mail: .eml files under instance/outbox/ by default, SMTP when MAIL_URL is set.

(Interim version from the foundation; replaced by the calendar work's full gateway.)
"""

from __future__ import annotations

import smtplib
import ssl
import time
import uuid
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlsplit


@dataclass(frozen=True)
class OutgoingMessage:
    to: str
    subject: str
    text: str
    html: str | None = None
    ics: bytes | None = None
    ics_method: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


class Mailer(Protocol):
    def send(self, message: OutgoingMessage) -> str: ...


def build_mime(message: OutgoingMessage, sender: str) -> EmailMessage:
    mime = EmailMessage()
    mime["From"] = sender
    mime["To"] = message.to
    mime["Subject"] = message.subject
    mime["Date"] = formatdate(localtime=False)
    mime["Message-ID"] = make_msgid(domain="teletherapy.local")
    for key, value in message.headers.items():
        mime[key] = value
    mime.set_content(message.text)
    if message.html:
        mime.add_alternative(message.html, subtype="html")
    if message.ics is not None:
        method = message.ics_method or "PUBLISH"
        mime.add_attachment(
            message.ics,
            maintype="text",
            subtype="calendar",
            filename="invite.ics",
            params={"method": method},
        )
    return mime


class FileMailer:
    def __init__(self, directory: Path, sender: str) -> None:
        self.directory = directory
        self.sender = sender

    def send(self, message: OutgoingMessage) -> str:
        self.directory.mkdir(parents=True, exist_ok=True)
        mime = build_mime(message, self.sender)
        name = f"{time.time_ns()}-{uuid.uuid4().hex[:8]}.eml"
        (self.directory / name).write_bytes(bytes(mime))
        return str(mime["Message-ID"])


class SmtpMailer:
    def __init__(self, url: str, sender: str, timeout: float = 30.0) -> None:
        parts = urlsplit(url)
        self.host = parts.hostname or "127.0.0.1"
        self.implicit_tls = parts.scheme == "smtps"
        self.port = parts.port or (465 if self.implicit_tls else 587)
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.sender = sender
        self.timeout = timeout

    def send(self, message: OutgoingMessage) -> str:
        mime = build_mime(message, self.sender)
        context = ssl.create_default_context()
        smtp: smtplib.SMTP
        if self.implicit_tls:
            smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        with smtp:
            smtp.ehlo()
            if not self.implicit_tls and smtp.has_extn("starttls"):
                smtp.starttls(context=context)
                smtp.ehlo()
            if self.username:
                smtp.login(self.username, self.password or "")
            smtp.send_message(mime)
        return str(mime["Message-ID"])


def mailer_from_config(mail_url: str | None, outbox_dir: Path, sender: str) -> Mailer:
    if mail_url:
        return SmtpMailer(mail_url, sender)
    return FileMailer(outbox_dir, sender)
