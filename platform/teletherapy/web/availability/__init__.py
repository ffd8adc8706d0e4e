"""Availability: the practice dashboard and the availability editor; /api/v1/me/availability."""
