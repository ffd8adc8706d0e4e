"""Fee handling for bookings: how a session is paid, refunds and late-cancel fees.

The booking service calls these hooks inside its own transaction. With no Stripe
keys configured every session is "pay at the session": nothing is taken up front,
so nothing has to be refunded when a booking is cancelled.
"""

from __future__ import annotations

from datetime import datetime

from ..models import Booking


def on_booking_cancelled(*, booking: Booking, now: datetime) -> None:
    """Record the refund or late-cancel fee a cancellation causes (pay at session: none)."""
    return None
