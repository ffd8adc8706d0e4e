"""Text messages: the SmsSender protocol and the stand-in used while no provider is wired in."""

from __future__ import annotations

from typing import Protocol


class SmsUnavailable(NotImplementedError):
    """No SMS provider is configured; callers skip the SMS channel (or record why)."""


class SmsSender(Protocol):
    """Sends one text message and returns the provider's message id."""

    @property
    def is_available(self) -> bool: ...

    def send(self, *, to: str, text: str) -> str: ...


class NoSmsProvider:
    """The default: reports itself unavailable and refuses to send."""

    @property
    def is_available(self) -> bool:
        return False

    def send(self, *, to: str, text: str) -> str:
        raise SmsUnavailable("no SMS provider is configured")


def sms_sender_from_config(sms_url: str | None) -> SmsSender:
    """The SMS gateway for a configuration; only "none" exists until a provider is added."""
    if not sms_url or sms_url == "none":
        return NoSmsProvider()
    raise ValueError(f"unknown SMS provider {sms_url.split(':', 1)[0]!r}")
