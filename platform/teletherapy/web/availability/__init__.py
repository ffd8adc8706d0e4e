"""Availability: /api/v1/me/availability (the editor page lives in web/practice/)."""
