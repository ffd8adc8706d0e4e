"""Screening and outcomes (PHQ-9, GAD-7): submit, see, export, alerts, cadence, caseload.

One module per concern: access.py (who may see whose results), submit.py, queries.py
(lists, trends, caseload), alerts.py, cadence.py (and the reminder hook), fhir.py.
Every view or export of results is written to the audit log in the same commit.
"""

from teletherapy.models import Screening

__all__ = ["Screening"]
