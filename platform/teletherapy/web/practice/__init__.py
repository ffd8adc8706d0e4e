"""The therapist's workspace (/practice/*): dashboard, availability, profile and schedule."""
