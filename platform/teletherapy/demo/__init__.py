"""The demo seed: an explicit list of steps through the same services as the app."""
