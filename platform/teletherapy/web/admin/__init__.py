"""Administration: therapist approvals, users, dead letters."""
