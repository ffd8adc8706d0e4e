"""The only modules that talk to outside systems (Stripe, calendars, mail, video).

`build_gateways(config)` builds them once at app creation; they live in
`app.extensions["gateways"]`, where views, services and jobs take them and tests
swap in fakes (`app.extensions["gateways"].payments = FakeGateway()`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import current_app

from teletherapy.gateways.mail import Mailer, mailer_from_config
from teletherapy.gateways.payments import PaymentGateway, StripeGateway
from teletherapy.gateways.video import VideoProvider, video_rooms_from_config

EXTENSION_KEY = "gateways"


@dataclass
class Gateways:
    """The outside systems this deployment talks to. `payments` is None without Stripe keys
    (every session is then paid at the session)."""

    payments: PaymentGateway | None
    mail: Mailer
    video: VideoProvider


def build_gateways(config: Mapping[str, Any], *, instance_path: str | Path) -> Gateways:
    """Every gateway, from the configuration (see DESIGN.md's configuration keys)."""
    payments: PaymentGateway | None = None
    if config.get("STRIPE_SECRET_KEY") and config.get("STRIPE_PUBLISHABLE_KEY"):
        payments = StripeGateway(
            str(config["STRIPE_SECRET_KEY"]),
            api_base=config.get("STRIPE_API_BASE") or None,
            webhook_secret=config.get("STRIPE_WEBHOOK_SECRET") or None,
        )
    return Gateways(
        payments=payments,
        mail=mailer_from_config(
            config.get("MAIL_URL"),
            Path(instance_path) / "outbox",
            sender=str(config.get("MAIL_FROM") or "Teletherapy <no-reply@localhost>"),
        ),
        video=video_rooms_from_config(config.get("VIDEO_BASE_URL")),
    )


def gateways() -> Gateways:
    """The current app's gateways (built at app creation)."""
    found: Gateways = current_app.extensions[EXTENSION_KEY]
    return found


def payment_gateway() -> PaymentGateway | None:
    return gateways().payments


def video_rooms() -> VideoProvider:
    return gateways().video


def mailer() -> Mailer:
    return gateways().mail


def public_url(path: str) -> str:
    """THE one place that builds a public link (mail, feeds, API answers) from PUBLIC_URL."""
    base = str(current_app.config["PUBLIC_URL"]).rstrip("/")
    return f"{base}/{path.lstrip('/')}"
