"""Bookings: the lifecycle of a session, and reading sessions.

`Booking` is the row these services return; web code names the type from here.
"""

from teletherapy.models import Booking

__all__ = ["Booking"]
