"""Days past due: counted from the oldest instalment still unpaid, ageing with the calendar.

The loan system reports a loan's days past due on a day (`as_of`); while its arrears stay
unpaid the count grows by one a day from there. One rule: in Python (`policies.delinquency`,
which the workflow uses too) and in SQL, here.
"""

from __future__ import annotations

from sqlalchemy import Integer, and_, case, cast, func
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col

from models.cases import Case
from models.enums import CaseStatus
from policies.delinquency import days_past_due

__all__ = ["case_days_past_due", "days_past_due"]


def case_days_past_due() -> ColumnElement[int]:
    """A case's days past due today, in SQL: counted from what intake reported when the case
    opened; 0 once the case is closed or its arrears are paid."""
    counted = cast(func.current_date() - col(Case.opened_as_of), Integer) + col(Case.days_past_due_at_open)
    return case(
        (and_(col(Case.status) == CaseStatus.OPEN, col(Case.arrears) > 0), counted),
        else_=0,
    )
