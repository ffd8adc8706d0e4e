"""Matching: profiles, fee bands and the search for a therapist."""
