"""Sign-up, sign-in, password reset and account settings."""
