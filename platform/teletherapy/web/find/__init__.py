"""Finding a therapist: intake and results, public profiles, the profile editor, admin."""
