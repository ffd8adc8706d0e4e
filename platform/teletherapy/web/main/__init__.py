"""Public pages: home and health."""
