"""gateways/sms.py: the protocol a provider will implement, and the stand-in until then."""

from __future__ import annotations

import pytest

from teletherapy.gateways.sms import (
    NoSmsProvider,
    SmsSender,
    SmsUnavailable,
    sms_sender_from_config,
)


class RecordingSms:
    """What a real provider looks like to the services: available, returns an id."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    @property
    def is_available(self) -> bool:
        return True

    def send(self, *, to: str, text: str) -> str:
        self.sent.append((to, text))
        return f"sms-{len(self.sent)}"


def notify(sender: SmsSender, to: str, text: str) -> str | None:
    """How a service uses the channel: skip it when no provider is configured."""
    if not sender.is_available:
        return None
    return sender.send(to=to, text=text)


@pytest.mark.parametrize("url", [None, "", "none"])
def test_no_provider_is_configured_by_default(url):
    sender = sms_sender_from_config(url)
    assert isinstance(sender, NoSmsProvider)
    assert sender.is_available is False


def test_the_stand_in_refuses_to_send_with_a_clear_error():
    with pytest.raises(SmsUnavailable, match="no SMS provider"):
        NoSmsProvider().send(to="+12125550100", text="Reminder")
    assert issubclass(SmsUnavailable, NotImplementedError)


def test_an_unknown_provider_is_refused_without_showing_its_credentials():
    with pytest.raises(ValueError, match="unknown SMS provider 'twilio'") as info:
        sms_sender_from_config("twilio://AC123:secret-token@api")
    assert "secret-token" not in str(info.value)


def test_services_skip_the_channel_until_a_provider_is_added():
    assert notify(NoSmsProvider(), "+12125550100", "Reminder") is None
    provider = RecordingSms()
    assert notify(provider, "+12125550100", "Reminder") == "sms-1"
    assert provider.sent == [("+12125550100", "Reminder")]
