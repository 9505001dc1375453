"""Imports every table module so that `metadata` is complete (Alembic, tests)."""

from models import (
    audit,
    borrowers,
    cases,
    documents,
    engagement,
    kpis,
    loans,
    payments,
    portal,
    reports,
    strategy,
    tasks,
    web_sessions,
)
from models.base import metadata

__all__ = [
    "audit",
    "borrowers",
    "cases",
    "documents",
    "engagement",
    "kpis",
    "loans",
    "metadata",
    "payments",
    "portal",
    "reports",
    "strategy",
    "tasks",
    "web_sessions",
]
