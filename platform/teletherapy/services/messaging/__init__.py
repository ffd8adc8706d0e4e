"""Messaging: the outbox, notifications and reminder preferences."""
