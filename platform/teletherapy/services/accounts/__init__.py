"""Accounts: users, passwords, sessions and API tokens.

`User` is the row these services return for a person; web code names the type from here
because it never imports models.
"""

from teletherapy.models import User

__all__ = ["User"]
