"""Money as integer cents: formatting for people (never floats for amounts)."""

from __future__ import annotations

_SYMBOLS = {"usd": "$"}


def format_cents(cents: int, currency: str = "usd") -> str:
    """4000 -> "$40", 4250 -> "$42.50", 120000 -> "$1,200"; other currencies "40.00 EUR"."""
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(cents), 100)
    symbol = _SYMBOLS.get(currency.lower())
    if symbol is None:
        return f"{sign}{whole:,}.{part:02d} {currency.upper()}"
    if part == 0:
        return f"{sign}{symbol}{whole:,}"
    return f"{sign}{symbol}{whole:,}.{part:02d}"
