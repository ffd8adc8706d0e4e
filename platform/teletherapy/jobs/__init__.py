"""The dispatcher: APScheduler jobs that sweep the outbox."""
