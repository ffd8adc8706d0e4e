"""Calendars: invites and private session feeds."""
