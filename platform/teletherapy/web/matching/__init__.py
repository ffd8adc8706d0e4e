"""Matching: intake, results, public profiles, the profile editor; their API."""
