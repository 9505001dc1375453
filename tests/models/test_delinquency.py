"""Days past due: one rule in Python and in SQL, counted from what the loan system reported."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func
from sqlmodel import select

from arrears.db import Database
from models.cases import Case
from models.delinquency import case_days_past_due, days_past_due
from models.enums import CaseStatus
from tests.factories import Portfolio


def test_days_past_due_age_with_the_calendar_while_arrears_remain() -> None:
    reported = date(2025, 12, 20)
    assert days_past_due(reported=10, as_of=reported, on=reported, arrears=Decimal("1")) == 10
    # across the year's end
    assert days_past_due(reported=10, as_of=reported, on=date(2026, 1, 14), arrears=Decimal("1")) == 35
    assert days_past_due(reported=10, as_of=reported, on=date(2026, 1, 14), arrears=Decimal("0")) == 0


async def test_sql_and_python_count_a_case_the_same_way(db: Database) -> None:
    async with db.session() as session:
        today = (await session.exec(select(func.current_date()))).one()
        p = Portfolio(session)
        opened = datetime.combine(today - timedelta(days=40), datetime.min.time(), UTC)
        case_id = await p.case(await p.loan(dpd=25, as_of=opened.date()), opened=opened, dpd=25)
        case = await session.get(Case, case_id)
        assert case is not None

        async def in_sql() -> int:
            await session.flush()
            return (await session.exec(select(case_days_past_due()).where(Case.id == case_id))).one()

        def in_python() -> int:
            return days_past_due(
                reported=case.days_past_due_at_open, as_of=case.opened_as_of, on=today, arrears=case.arrears
            )

        assert await in_sql() == in_python() == 65
        case.arrears = Decimal("0.00")
        assert await in_sql() == in_python() == 0
        case.arrears, case.status = Decimal("10.00"), CaseStatus.CLOSED
        assert await in_sql() == 0  # a closed case is no longer counted
        await session.rollback()  # leave the shared database as it was
