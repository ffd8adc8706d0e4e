"""Privacy: a client downloads everything held about them, or closes the account."""
