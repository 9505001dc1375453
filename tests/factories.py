"""Factories for test data: every call makes a new loan and borrower."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from temporalio.testing import ActivityEnvironment

_PACK_DEFAULTS = {
    "us_mortgage": {"currency": "USD", "product": "mortgage_30y", "timezone": "America/New_York"},
    "nl_consumer": {"currency": "EUR", "product": "personal_loan", "timezone": "Europe/Amsterdam"},
    "se_consumer": {"currency": "SEK", "product": "consumer_credit", "timezone": "Europe/Stockholm"},
}


def delinquency(pack: str = "us_mortgage", **overrides: Any) -> dict[str, Any]:
    """One valid delinquency row as the loan system sends it."""
    key = uuid.uuid4().hex[:12]
    as_of = overrides.pop("as_of", date(2026, 11, 2))
    as_of = date.fromisoformat(as_of) if isinstance(as_of, str) else as_of
    row: dict[str, Any] = {
        "loan_id": f"L-{key}",
        "borrower_id": f"B-{key}",
        "borrower_name": "Test Borrower",
        "email": f"b-{key}@example.org",
        "phone": f"+1 212 {int(key, 16) % 10_000_000:07d}",
        "address": "1 Test Street",
        "policy_pack": pack,
        "principal": "200000.00",
        "balance": "150000.00",
        "arrears": "1500.00",
        "installment": "1500.00",
        "due_day": 1,
        "next_due_date": (as_of + timedelta(days=30)).isoformat(),
        "days_past_due": 20,
        "as_of": as_of.isoformat(),
        **_PACK_DEFAULTS[pack],
    }
    row.update(overrides)
    return row


def zone_at_local_hour(hour: int, now: datetime) -> str:
    """A fixed-offset zone in which `now` reads `hour` o'clock (Etc/GMT signs are inverted)."""
    offset = hour - now.astimezone(UTC).hour
    offset = offset - 24 if offset > 14 else offset + 24 if offset < -12 else offset
    return "Etc/UTC" if offset == 0 else f"Etc/GMT{-offset:+d}"


def activity_env(at: datetime) -> ActivityEnvironment:
    """An environment to run one activity in, its attempt scheduled at `at`."""
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, current_attempt_scheduled_time=at)
    return env
