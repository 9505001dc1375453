"""Days past due: the one rule, pure, for the workflow, the API and the reports alike."""

from __future__ import annotations

from datetime import date
from decimal import Decimal


def days_past_due(*, reported: int, as_of: date, on: date, arrears: Decimal) -> int:
    """Days past due on `on` of a loan reported `reported` days past due on `as_of`; 0 once
    its arrears are paid."""
    if arrears <= 0:
        return 0
    return reported + (on - as_of).days
