"""The access-equity view: the admin page and API, and a therapist's own numbers."""
