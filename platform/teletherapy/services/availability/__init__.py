"""Availability: therapists' hours, and the schedule the slot engine reads."""
