"""Groups: group therapy, seats and waitlists.

The rows these services return; web code names their types from here.
"""

from teletherapy.models import GroupSeat, GroupWaitlistEntry, TherapyGroup

__all__ = ["GroupSeat", "GroupWaitlistEntry", "TherapyGroup"]
