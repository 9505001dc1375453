"""Alembic migrations; `arrears migrate` runs them, and so do the tests."""
