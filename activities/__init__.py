"""Temporal activities: the only code that touches PostgreSQL and the outside world for a case."""
