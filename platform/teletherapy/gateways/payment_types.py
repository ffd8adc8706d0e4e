"""What the payment gateway answers and refuses with, and Stripe webhook events read from a
verified body (kept apart from the gateway itself; `gateways.payments` re-exports them)."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

# PaymentIntent statuses as Stripe spells them, plus FAILED for an off-session decline.
SUCCEEDED = "succeeded"
PROCESSING = "processing"
REQUIRES_ACTION = "requires_action"
REQUIRES_PAYMENT_METHOD = "requires_payment_method"
FAILED = "failed"
CANCELED = "canceled"
# Stripe statuses of an intent (or refund) that will never succeed.
NOT_COMPLETED = (REQUIRES_PAYMENT_METHOD, FAILED, CANCELED)


class PaymentGatewayError(Exception):
    """Stripe refused or could not be reached for a reason other than the card (base class)."""

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class CardDeclined(PaymentGatewayError):
    """The card was declined; `message` is Stripe's text, safe to show to the card holder."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        decline_code: str | None = None,
        payment_intent_id: str | None = None,
        charge_id: str | None = None,
    ) -> None:
        super().__init__(message, code=code)
        self.decline_code = decline_code
        self.payment_intent_id = payment_intent_id
        self.charge_id = charge_id


class InvalidWebhook(PaymentGatewayError):
    """A webhook whose signature, timestamp or body does not verify: answer 400, change nothing."""


@dataclass(frozen=True, slots=True)
class PaymentIntentResult:
    """A PaymentIntent as the services need it; `status` is Stripe's, or "failed" off-session."""

    id: str
    status: str
    client_secret: str | None
    amount_cents: int = 0
    currency: str = ""
    booking_id: str | None = None
    failure_code: str | None = None
    failure_message: str | None = None

    @property
    def is_succeeded(self) -> bool:
        return self.status == SUCCEEDED

    @property
    def needs_action(self) -> bool:
        """The client must act on-session (3-D Secure, or pay again with the link we email)."""
        return self.status == REQUIRES_ACTION


class SetupIntentResult(NamedTuple):
    id: str
    client_secret: str


@dataclass(frozen=True, slots=True)
class RefundResult:
    id: str
    status: str
    amount_cents: int
    payment_intent_id: str


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    """A verified Stripe event; `object` is the event's data.object as plain dicts."""

    id: str
    type: str
    object_id: str | None
    object: dict[str, Any]
    created: datetime

    @property
    def booking_id(self) -> str | None:
        metadata = self.object.get("metadata") or {}
        value = metadata.get("booking_id") if isinstance(metadata, dict) else None
        return str(value) if value is not None else None


# Stripe object ids: a short prefix, an underscore, then letters, digits and underscores.
_EVENT_ID = re.compile(r"evt_[A-Za-z0-9_]{1,250}")


def check_signature_time(header: str, tolerance: int) -> None:
    """The stripe library refuses old signatures; a signature from the future is refused too."""
    stamps = [part[2:] for part in header.split(",") if part.strip().startswith("t=")]
    if len(stamps) != 1 or not stamps[0].strip().isdigit() or len(stamps[0].strip()) > 12:
        raise InvalidWebhook("webhook signature has no valid timestamp")
    if int(stamps[0]) > time.time() + tolerance:
        raise InvalidWebhook("webhook signature is dated in the future")


def event_from_payload(data: Any, *, api_versions: frozenset[str] | None) -> WebhookEvent:
    """A verified body as a `WebhookEvent`, or `InvalidWebhook` when it is not a Stripe event."""
    if not isinstance(data, dict) or data.get("object") != "event":
        raise InvalidWebhook("webhook body is not a Stripe event object")
    event_id = data.get("id")
    if not isinstance(event_id, str) or not _EVENT_ID.fullmatch(event_id):
        raise InvalidWebhook("webhook event id is not a Stripe event id")
    version = data.get("api_version")
    # Stripe sends the endpoint's version, which must be ours (None: an emulator's, any).
    if version is not None and api_versions is not None and version not in api_versions:
        raise InvalidWebhook(f"webhook event has API version {version!r}, expected ours")
    try:
        obj = data["data"]["object"]
        if not isinstance(obj, dict):
            raise TypeError("data.object is not an object")
        object_id = obj.get("id")
        created = data["created"]
        if isinstance(created, bool) or not isinstance(created, int):
            raise TypeError("created is not a timestamp")
        return WebhookEvent(
            id=event_id,
            type=str(data["type"]),
            object_id=str(object_id) if object_id is not None else None,
            object=obj,
            created=datetime.fromtimestamp(created, tz=UTC),
        )
    except (KeyError, TypeError, ValueError, OverflowError, OSError) as exc:
        raise InvalidWebhook("webhook event lacks id, type, created or data.object") from exc
