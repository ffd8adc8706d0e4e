"""The only modules that talk to outside systems (Stripe, calendars, mail, video)."""
