"""Groups: group therapy, seats and waitlists."""
