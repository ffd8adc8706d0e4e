"""A therapist's own practice: dashboard and availability pages."""
