"""Stripe behind one small protocol: customers, PaymentIntents, SetupIntents, refunds, webhooks."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Literal, Protocol, cast

import stripe

if TYPE_CHECKING:
    from stripe.params import (
        PaymentIntentCreateParams,
        RefundCreateParams,
        SetupIntentCreateParams,
    )

from teletherapy.gateways.payment_types import CANCELED as CANCELED
from teletherapy.gateways.payment_types import FAILED as FAILED
from teletherapy.gateways.payment_types import NOT_COMPLETED as NOT_COMPLETED
from teletherapy.gateways.payment_types import PROCESSING as PROCESSING
from teletherapy.gateways.payment_types import REQUIRES_ACTION as REQUIRES_ACTION
from teletherapy.gateways.payment_types import REQUIRES_PAYMENT_METHOD as REQUIRES_PAYMENT_METHOD
from teletherapy.gateways.payment_types import SUCCEEDED as SUCCEEDED
from teletherapy.gateways.payment_types import CardDeclined as CardDeclined
from teletherapy.gateways.payment_types import InvalidWebhook as InvalidWebhook
from teletherapy.gateways.payment_types import PaymentGatewayError as PaymentGatewayError
from teletherapy.gateways.payment_types import PaymentIntentResult as PaymentIntentResult
from teletherapy.gateways.payment_types import RefundResult as RefundResult
from teletherapy.gateways.payment_types import SetupIntentResult as SetupIntentResult
from teletherapy.gateways.payment_types import WebhookEvent as WebhookEvent
from teletherapy.gateways.payment_types import check_signature_time, event_from_payload

logger = logging.getLogger(__name__)

IdempotencyKind = Literal["pay", "refund", "late-fee"]
_IDEMPOTENCY_KINDS: frozenset[str] = frozenset({"pay", "refund", "late-fee"})
_SAFE_ID = re.compile(r"[A-Za-z0-9_]{1,64}")
# Refund reasons are short codes we choose ("therapist_cancelled"), never free text:
# free text is how a diagnosis or a name ends up in Stripe.
_REASON_CODE = re.compile(r"[a-z0-9_]{1,64}")
_CURRENCY = re.compile(r"[a-z]{3}")


# Stripe says "authentication_required" in `code` for PaymentIntents and in
# `decline_code` for older charges; both mean "the bank wants the client present".
_AUTHENTICATION_REQUIRED = "authentication_required"


class PaymentGateway(Protocol):
    """What services may ask of a payment provider; `StripeGateway` and test fakes implement it."""

    def create_customer(self, client_id: int) -> str: ...

    def create_payment_intent(
        self,
        *,
        booking_id: int,
        amount_cents: int,
        currency: str,
        customer_id: str | None,
        idempotency_key: str,
        payment_method_id: str | None = None,
    ) -> PaymentIntentResult: ...

    def create_setup_intent(self, customer_id: str) -> SetupIntentResult: ...

    def charge_off_session(
        self,
        *,
        booking_id: int,
        amount_cents: int,
        customer_id: str,
        payment_method_id: str,
        idempotency_key: str,
        currency: str = "usd",
    ) -> PaymentIntentResult: ...

    def retrieve_payment_intent(self, payment_intent_id: str) -> PaymentIntentResult: ...

    def refund(
        self,
        *,
        payment_intent_id: str,
        amount_cents: int | None,
        idempotency_key: str,
        reason: str,
    ) -> RefundResult: ...

    def parse_webhook(self, payload: bytes, signature_header: str | None) -> WebhookEvent: ...


def idempotency_key(kind: IdempotencyKind, booking_id: int | str) -> str:
    """The one key for a money movement of a booking: "pay-12", "refund-12", "late-fee-12".

    Deterministic so that a retry after a timeout or a crash repeats the same request
    instead of moving money twice (Stripe keeps keys for at least 24 hours).
    """
    if kind not in _IDEMPOTENCY_KINDS:
        raise ValueError(f"unknown idempotency key kind: {kind!r}")
    text = str(booking_id)
    if not _SAFE_ID.fullmatch(text):
        raise ValueError(f"booking id unfit for an idempotency key: {text!r}")
    return f"{kind}-{text}"


class StripeGateway:
    """`PaymentGateway` on a `stripe.StripeClient` (never the global key); amounts in cents."""

    def __init__(
        self,
        secret_key: str,
        api_base: str | None = None,
        webhook_secret: str | None = None,
        *,
        webhook_tolerance_seconds: int = stripe.Webhook.DEFAULT_TOLERANCE,
        max_network_retries: int = 2,
        legacy_payment_method_types: bool | None = None,
        api_versions: frozenset[str] | None = None,
    ) -> None:
        """`legacy_payment_method_types`: send `payment_method_types` (what localstripe and
        Stripe API versions before 2026-09 accept) instead of `allowed_payment_method_types`
        (what the API version pinned by stripe 16 requires). Default: legacy exactly when
        `api_base` is set, i.e. when talking to an emulator rather than Stripe itself.
        `api_versions`: the event API versions accepted (default: the one the stripe library
        pins; with `api_base` set, any, since an emulator such as localstripe stamps its
        events with a version of its own).
        """
        if not secret_key:
            raise ValueError("a Stripe secret key is required")
        if legacy_payment_method_types is None:
            legacy_payment_method_types = api_base is not None
        # Cards only: no redirect-based methods, so server-side confirmation needs no return_url.
        self._card_only: dict[str, Any] = (
            {"payment_method_types": ["card"]}
            if legacy_payment_method_types
            else {"allowed_payment_method_types": ["card"]}
        )
        self._client = stripe.StripeClient(
            secret_key,
            base_addresses={"api": api_base.rstrip("/")} if api_base else None,
            max_network_retries=max_network_retries,
        )
        self._webhook_secret = webhook_secret
        self._webhook_tolerance = webhook_tolerance_seconds
        self._api_versions: frozenset[str] | None = (
            frozenset(api_versions)
            if api_versions
            else (None if api_base is not None else frozenset({stripe.api_version}))
        )

    def create_customer(self, client_id: int) -> str:
        # Only our id: no name, email or anything clinical leaves the platform.
        with _stripe_errors("create customer"):
            customer = self._client.v1.customers.create(
                {"metadata": {"client_id": _safe_id(client_id)}}
            )
        return str(customer.id)

    def create_payment_intent(
        self,
        *,
        booking_id: int,
        amount_cents: int,
        currency: str,
        customer_id: str | None,
        idempotency_key: str,
        payment_method_id: str | None = None,
    ) -> PaymentIntentResult:
        """A PaymentIntent for one booking, confirmed by Stripe.js in the page.

        With `payment_method_id` (a saved card, client present) it is confirmed here:
        the result is "succeeded" or "requires_action" (3-D Secure: the page calls
        `confirmCardPayment(client_secret)`), and a decline raises `CardDeclined`.
        """
        params: dict[str, Any] = {
            "amount": _check_amount(amount_cents),
            "currency": _check_currency(currency),
            "capture_method": "automatic",
            "metadata": {"booking_id": _safe_id(booking_id)},
            **self._card_only,
        }
        if customer_id:
            params["customer"] = customer_id
        if payment_method_id:
            params["payment_method"] = payment_method_id
            params["confirm"] = True
        with _stripe_errors("create payment intent"):
            intent = self._client.v1.payment_intents.create(
                cast("PaymentIntentCreateParams", params),
                {"idempotency_key": idempotency_key},
            )
        return _payment_intent_result(intent.to_dict())

    def create_setup_intent(self, customer_id: str) -> SetupIntentResult:
        with _stripe_errors("create setup intent"):
            params: dict[str, Any] = {
                "customer": customer_id,
                "usage": "off_session",
                **self._card_only,
            }
            intent = self._client.v1.setup_intents.create(cast("SetupIntentCreateParams", params))
        return SetupIntentResult(str(intent.id), str(intent.client_secret))

    def charge_off_session(
        self,
        *,
        booking_id: int,
        amount_cents: int,
        customer_id: str,
        payment_method_id: str,
        idempotency_key: str,
        currency: str = "usd",
    ) -> PaymentIntentResult:
        """Charge a saved card with the client absent; never raises for the card's sake.

        "succeeded", "processing", "requires_action" (the bank wants the client: email a
        link to pay on-session with `client_secret`) or "failed" (`failure_code` says why).
        """
        params: dict[str, Any] = {
            "amount": _check_amount(amount_cents),
            "currency": _check_currency(currency),
            "customer": customer_id,
            "payment_method": payment_method_id,
            "confirm": True,
            "off_session": True,
            "capture_method": "automatic",
            "metadata": {"booking_id": _safe_id(booking_id)},
            **self._card_only,
        }
        try:
            with _stripe_errors("charge off session"):
                intent = self._client.v1.payment_intents.create(
                    cast("PaymentIntentCreateParams", params),
                    {"idempotency_key": idempotency_key},
                )
        except CardDeclined as exc:
            return self._declined_off_session(exc)
        result = _payment_intent_result(intent.to_dict())
        if result.status == REQUIRES_PAYMENT_METHOD:
            return replace(result, status=FAILED)
        return result

    def retrieve_payment_intent(self, payment_intent_id: str) -> PaymentIntentResult:
        with _stripe_errors("retrieve payment intent"):
            intent = self._client.v1.payment_intents.retrieve(payment_intent_id)
        return _payment_intent_result(intent.to_dict())

    def refund(
        self,
        *,
        payment_intent_id: str,
        amount_cents: int | None,
        idempotency_key: str,
        reason: str,
    ) -> RefundResult:
        """Refund all (`amount_cents=None`) or part of a payment; `reason` is a short code."""
        if not _REASON_CODE.fullmatch(reason):
            raise ValueError(f"refund reason must be a short lower_snake_case code: {reason!r}")
        # Our reason goes in metadata: Stripe's own `reason` is a closed enum
        # (duplicate, fraudulent, requested_by_customer) that says nothing useful here.
        params: dict[str, Any] = {
            "payment_intent": payment_intent_id,
            "metadata": {"reason": reason},
        }
        if amount_cents is not None:
            params["amount"] = _check_amount(amount_cents)
        with _stripe_errors("refund"):
            refund = self._client.v1.refunds.create(
                cast("RefundCreateParams", params),
                {"idempotency_key": idempotency_key},
            )
        data = refund.to_dict()
        return RefundResult(
            id=str(data["id"]),
            status=str(data.get("status") or ""),
            amount_cents=int(data["amount"]),
            payment_intent_id=str(data.get("payment_intent") or payment_intent_id),
        )

    def parse_webhook(self, payload: bytes, signature_header: str | None) -> WebhookEvent:
        """Verify the signature over the raw body, then read the event; raise `InvalidWebhook`."""
        if not self._webhook_secret:
            raise PaymentGatewayError("STRIPE_WEBHOOK_SECRET is not configured")
        if not signature_header:
            raise InvalidWebhook("missing Stripe-Signature header")
        check_signature_time(signature_header, self._webhook_tolerance)
        try:
            stripe.WebhookSignature.verify_header(
                payload.decode("utf-8"),
                signature_header,
                self._webhook_secret,
                self._webhook_tolerance,
            )
        except stripe.SignatureVerificationError as exc:
            raise InvalidWebhook("webhook signature does not verify") from exc
        except UnicodeDecodeError as exc:
            raise InvalidWebhook("webhook body is not UTF-8") from exc
        try:
            data = json.loads(payload)
        except (ValueError, RecursionError) as exc:  # signed but not JSON
            raise InvalidWebhook("webhook body is not a Stripe event") from exc
        return event_from_payload(data, api_versions=self._api_versions)

    def _declined_off_session(self, exc: CardDeclined) -> PaymentIntentResult:
        intent_id = exc.payment_intent_id
        if intent_id is None and exc.charge_id:
            # localstripe (unlike Stripe) names only the charge in the error.
            intent_id = self._intent_id_of_charge(exc.charge_id)
        if intent_id is None:
            raise exc
        needs_client = _AUTHENTICATION_REQUIRED in (exc.code, exc.decline_code)
        return replace(
            self.retrieve_payment_intent(intent_id),
            status=REQUIRES_ACTION if needs_client else FAILED,
            failure_code=exc.decline_code or exc.code,
            failure_message=exc.message,
        )

    def _intent_id_of_charge(self, charge_id: str) -> str | None:
        with _stripe_errors("retrieve charge"):
            charge = self._client.v1.charges.retrieve(charge_id).to_dict()
        intent = charge.get("payment_intent")
        if isinstance(intent, dict):
            intent = intent.get("id")
        return str(intent) if intent else None


@contextmanager
def _stripe_errors(operation: str) -> Iterator[None]:
    """Translate the stripe library's exceptions into this module's small set."""
    try:
        yield
    except stripe.CardError as exc:
        error = exc.error.to_dict() if exc.error is not None else {}
        intent = error.get("payment_intent")
        charge = error.get("charge")
        logger.info(
            "stripe %s: card declined (code=%s, decline_code=%s)",
            operation,
            exc.code,
            error.get("decline_code"),
        )
        raise CardDeclined(
            str(exc.code or "card_declined"),
            str(exc.user_message or "Your card was declined."),
            decline_code=error.get("decline_code"),
            payment_intent_id=str(intent["id"]) if isinstance(intent, dict) else None,
            charge_id=str(charge) if isinstance(charge, str) else None,
        ) from exc
    except stripe.StripeError as exc:
        logger.warning(
            "stripe %s failed: %s (status=%s, code=%s)",
            operation,
            type(exc).__name__,
            exc.http_status,
            exc.code,
        )
        raise PaymentGatewayError(
            f"payment provider error during {operation}: {type(exc).__name__}",
            code=exc.code,
        ) from exc


def _payment_intent_result(data: Mapping[str, Any]) -> PaymentIntentResult:
    metadata = data.get("metadata") or {}
    error = data.get("last_payment_error") or {}
    booking_id = metadata.get("booking_id")
    return PaymentIntentResult(
        id=str(data["id"]),
        status=str(data.get("status") or ""),
        client_secret=data.get("client_secret"),
        amount_cents=int(data.get("amount") or 0),
        currency=str(data.get("currency") or ""),
        booking_id=str(booking_id) if booking_id is not None else None,
        failure_code=error.get("decline_code") or error.get("code"),
        failure_message=error.get("message"),
    )


def _check_amount(amount_cents: int) -> int:
    if isinstance(amount_cents, bool) or not isinstance(amount_cents, int) or amount_cents <= 0:
        raise ValueError(f"amount must be a positive integer number of cents: {amount_cents!r}")
    return amount_cents


def _check_currency(currency: str) -> str:
    if not _CURRENCY.fullmatch(currency):
        raise ValueError(f"currency must be a lower-case ISO 4217 code: {currency!r}")
    return currency


def _safe_id(value: int | str) -> str:
    text = str(value)
    if not _SAFE_ID.fullmatch(text):
        raise ValueError(f"not an id: {text!r}")
    return text
