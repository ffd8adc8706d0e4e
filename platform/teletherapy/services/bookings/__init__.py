"""Bookings: the lifecycle of a session, and reading sessions."""
