"""Matching: intake, results, public profiles and their API (profile editor: web/practice/)."""
