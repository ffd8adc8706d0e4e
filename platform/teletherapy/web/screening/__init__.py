"""Screening pages and API (PHQ-9, GAD-7)."""
