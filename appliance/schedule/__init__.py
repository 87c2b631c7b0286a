"""Scheduled pre-session atmosphere. See issue 5."""
