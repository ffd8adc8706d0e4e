"""Session pages: choose a slot, confirm, my sessions, cancel, reschedule, join, day/week view."""
