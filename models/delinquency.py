"""Days past due: counted from the oldest instalment still unpaid, ageing with the calendar.

The case row holds the day its delinquency began (`delinquent_since`): what intake's report
implied, moved by the case workflow when a payment covers the oldest instalments. While the
arrears stay unpaid the count grows by one a day. One rule: in Python (`policies.delinquency`,
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
    """A case's days past due today, in SQL: counted from the oldest instalment still unpaid;
    0 once the case is closed or its arrears are paid."""
    counted = cast(func.current_date() - col(Case.delinquent_since), Integer)
    return case(
        (and_(col(Case.status) == CaseStatus.OPEN, col(Case.arrears) > 0), counted),
        else_=0,
    )
