"""Screening and outcomes (PHQ-9, GAD-7): submit, see, export, alerts, cadence, caseload.

One module per concern: access.py (who may see whose results), submit.py, queries.py
(lists, trends, caseload), alerts.py, cadence.py (and the reminder hook), fhir.py.
Every view or export of results is written to the audit log in the same commit.
"""

from teletherapy.models import Screening
from teletherapy.services.messaging import notifications
from teletherapy.services.screening.cadence import check_in_link

__all__ = ["Screening"]

# The reminder before a session links the check-in when the cadence says so; messaging
# takes the link through its hook so it never imports screening (no package cycle).
if check_in_link not in notifications.CLIENT_REMINDER_LINKS:
    notifications.CLIENT_REMINDER_LINKS.append(check_in_link)
