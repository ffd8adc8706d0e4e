"""The one place that reads the wall clock; everything else takes `now` as a parameter."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """Return the current instant, timezone-aware, in UTC."""
    return datetime.now(UTC)
