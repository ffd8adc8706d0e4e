"""Domain errors; the web layer maps each subclass to one HTTP status in one place."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


class Text(str):
    """A message with values, in plain English (the text code and logs read), that keeps its
    msgid and values so the web layer can say it in the person's language.

    `Text("Item %(number)d has no answer.", number=3)` reads "Item 3 has no answer.";
    `make messages` extracts the msgid (the `Text` keyword).
    """

    msgid: str
    params: dict[str, Any]

    def __new__(cls, msgid: str, **params: Any) -> Text:
        text = super().__new__(cls, msgid % params if params else msgid)
        text.msgid = msgid
        text.params = params
        return text


class DomainError(Exception):
    """Base of every expected failure a user can cause (never a bug)."""

    status = 400
    title = "Bad request"
    type_slug = "bad-request"

    def __init__(
        self,
        detail: str,
        *,
        errors: Mapping[str, Sequence[str]] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = dict(errors or {})
        self.extra = dict(extra or {})


class ValidationError(DomainError):
    status = 422
    title = "Invalid input"
    type_slug = "invalid-input"


class NotFoundError(DomainError):
    """Also used when a resource exists but belongs to someone else (404, never 403)."""

    status = 404
    title = "Not found"
    type_slug = "not-found"


class PermissionDenied(DomainError):
    """The caller's role may not use this endpoint at all (not: someone else's data)."""

    status = 403
    title = "Forbidden"
    type_slug = "forbidden"


class AuthenticationError(DomainError):
    status = 401
    title = "Authentication required"
    type_slug = "unauthenticated"


class ConflictError(DomainError):
    """The request is well formed but clashes with the current state (slot taken, ...)."""

    status = 409
    title = "Conflict"
    type_slug = "conflict"


class PaymentError(DomainError):
    status = 402
    title = "Payment failed"
    type_slug = "payment-failed"
