"""Calendars: calendar settings, private feeds and invites; /api/v1/me/calendar-feed."""
