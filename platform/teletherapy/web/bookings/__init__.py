"""Bookings: slots, confirm, my sessions, cancel, reschedule, join, schedule; their API."""
