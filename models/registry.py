"""Imports every table module so that `metadata` is complete (Alembic, tests)."""

from models import audit, borrowers, cases, loans, payments, tasks
from models.base import metadata

__all__ = ["audit", "borrowers", "cases", "loans", "metadata", "payments", "tasks"]
