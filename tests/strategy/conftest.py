"""A database of the strategy tests' own: a running experiment draws every new case of its pack,
so it must never meet another test's intake."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from arrears import migrate
from arrears.db import Database
from arrears.embedded import EmbeddedPostgres
from models.borrowers import Borrower
from models.cases import Case
from models.enums import CaseOutcome, CaseStage, CaseStatus, PolicyPack
from models.loans import DelinquencySnapshot, Loan
from models.payments import Payment
from tests.api.conftest import auth, client  # noqa: F401 (the API's fixtures, for the queue tests)


@pytest.fixture(scope="session")
async def strategy_db(postgres: EmbeddedPostgres) -> AsyncIterator[Database]:
    migrate.upgrade(postgres.ensure_database("arrears_strategy"))
    database = Database(postgres.app_url("arrears_strategy"))
    yield database
    await database.dispose()


async def add_case(
    db: Database,
    *,
    pack: PolicyPack = PolicyPack.US_MORTGAGE,
    days_past_due: int = 20,
    opened: date | None = None,
    installment: str = "1000.00",
    arrears: str | None = None,
    payments_before: int = 0,
    outcome: CaseOutcome | None = None,
    closed_after_days: int = 30,
) -> Case:
    """A loan with a case opened `opened` at `days_past_due`, `payments_before` payments in the
    90 days before, and, with `outcome`, closed `closed_after_days` later."""
    key = uuid.uuid4().hex[:12]
    opened = opened or datetime.now(UTC).date() - timedelta(days=100)
    inst = Decimal(installment)
    owed = Decimal(arrears) if arrears is not None else inst * max(1, (days_past_due + 29) // 30)
    async with db.session() as session:
        borrower = Borrower(external_id=f"B-{key}", name="Test Borrower", timezone="UTC", language="en")
        session.add(borrower)
        await session.flush()
        loan = Loan(
            external_id=f"L-{key}",
            borrower_id=borrower.id,
            policy_pack=pack,
            product="test",
            currency="USD",
            principal=inst * 200,
            balance=inst * 150,
            arrears=owed,
            installment=inst,
            due_day=1,
            next_due_date=opened + timedelta(days=30),
            days_past_due=days_past_due,
        )
        session.add(loan)
        await session.flush()
        session.add(
            DelinquencySnapshot(
                loan_id=loan.id,
                as_of=opened,
                days_past_due=days_past_due,
                arrears=owed,
                balance=loan.balance,
                currency="USD",
                source="test",
            )
        )
        for i in range(payments_before):
            session.add(
                Payment(
                    external_id=f"P-{key}-{i}",
                    loan_id=loan.id,
                    amount=inst / 2,
                    currency="USD",
                    received_at=datetime.combine(
                        opened - timedelta(days=10 + 20 * i), datetime.min.time(), UTC
                    ),
                )
            )
        closed = outcome is not None
        case = Case(
            loan_id=loan.id,
            workflow_id=f"loan-L-{key}",
            policy_pack=pack,
            stage=CaseStage.CLOSED if closed else CaseStage.EARLY,
            status=CaseStatus.CLOSED if closed else CaseStatus.OPEN,
            outcome=outcome,
            days_past_due_at_open=days_past_due,
            opened_as_of=opened,
            delinquent_since=opened - timedelta(days=days_past_due),
            arrears=Decimal("0") if closed else owed,
            currency="USD",
            closed_at=datetime.combine(opened + timedelta(days=closed_after_days), datetime.min.time(), UTC)
            if closed
            else None,
        )
        session.add(case)
        await session.flush()
        return case
