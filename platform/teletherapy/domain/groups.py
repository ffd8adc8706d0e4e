"""Group therapy vocabularies: the statuses of a group, a seat and a waitlist entry."""

from __future__ import annotations

from enum import StrEnum


class GroupStatus(StrEnum):
    OPEN = "open"
    CANCELLED = "cancelled"


class SeatStatus(StrEnum):
    TAKEN = "taken"
    RELEASED = "released"


class WaitlistStatus(StrEnum):
    WAITING = "waiting"
    # Reserved for an offer-with-expiry policy; the current policy seats the first
    # in line at once (status "accepted", `offered_at` = when the seat was given).
    OFFERED = "offered"
    ACCEPTED = "accepted"
    EXPIRED = "expired"
    LEFT = "left"
