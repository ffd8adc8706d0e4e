"""Equity: record searches as aggregates-to-be and compute the access-equity metrics."""
