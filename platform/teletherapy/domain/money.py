"""Money is integer cents with a currency; formatting for people."""

from __future__ import annotations


def format_cents(cents: int | None, currency: str = "usd") -> str:
    """4000 -> "$40", 4250 -> "$42.50"."""
    if cents is None:
        return ""
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(int(cents)), 100)
    symbol = "$" if currency.lower() == "usd" else currency.upper() + " "
    return f"{sign}{symbol}{whole:,}" + (f".{part:02d}" if part else "")
