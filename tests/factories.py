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
    "be_consumer": {"currency": "EUR", "product": "personal_loan", "timezone": "Europe/Brussels"},
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


def activity_env(at: datetime, *, first: datetime | None = None) -> ActivityEnvironment:
    """An environment to run one activity in, its attempt scheduled at `at` (a retry: the first
    attempt scheduled at `first`)."""
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, current_attempt_scheduled_time=at, scheduled_time=first or at)
    return env


class Portfolio:
    """Loans, snapshots, cases and audit events written straight to the records at chosen times,
    as intake and the case workflows would write them: the input of the report tests."""

    def __init__(self, session: Any) -> None:
        self.session = session

    async def loan(
        self,
        pack: str = "us_mortgage",
        *,
        dpd: int,
        as_of: date,
        arrears: str = "1000.00",
        balance: str = "100000.00",
        product: str | None = None,
        received_at: datetime | None = None,
    ) -> uuid.UUID:
        from decimal import Decimal

        from models.borrowers import Borrower
        from models.enums import PolicyPack
        from models.loans import Loan

        key = uuid.uuid4().hex[:12]
        defaults = _PACK_DEFAULTS[pack]
        borrower = Borrower(
            external_id=f"RB-{key}", name="Report Borrower", timezone=defaults["timezone"], language="en"
        )
        loan = Loan(
            external_id=f"RL-{key}",
            borrower_id=borrower.id,
            policy_pack=PolicyPack(pack),
            product=product or defaults["product"],
            currency=defaults["currency"],
            principal=Decimal(balance),
            balance=Decimal(balance),
            arrears=Decimal(arrears if dpd else "0.00"),
            installment=Decimal("500.00"),
            due_day=1,
            next_due_date=as_of,
            days_past_due=dpd,
        )
        self.session.add(borrower)
        self.session.add(loan)
        await self.session.flush()
        await self.snapshot(loan.id, dpd=dpd, as_of=as_of, arrears=arrears, balance=balance, at=received_at)
        return loan.id

    async def snapshot(
        self,
        loan_id: uuid.UUID,
        *,
        dpd: int,
        as_of: date,
        arrears: str = "1000.00",
        balance: str = "100000.00",
        at: datetime | None = None,
    ) -> None:
        from decimal import Decimal

        from models.loans import DelinquencySnapshot, Loan

        loan = await self.session.get(Loan, loan_id)
        self.session.add(
            DelinquencySnapshot(
                loan_id=loan_id,
                as_of=as_of,
                days_past_due=dpd,
                arrears=Decimal(arrears if dpd else "0.00"),
                balance=Decimal(balance),
                currency=loan.currency,
                source="test",
                received_at=at or datetime.combine(as_of, datetime.min.time(), UTC) + timedelta(hours=12),
            )
        )
        await self.session.flush()

    async def case(
        self, loan_id: uuid.UUID, *, opened: datetime, stage: str = "early", dpd: int = 30
    ) -> uuid.UUID:
        from decimal import Decimal

        from models.cases import Case
        from models.enums import CaseStage
        from models.loans import Loan

        loan = await self.session.get(Loan, loan_id)
        case = Case(
            loan_id=loan_id,
            workflow_id=f"loan-{loan.external_id}",
            policy_pack=loan.policy_pack,
            stage=CaseStage(stage),
            days_past_due_at_open=dpd,
            opened_as_of=opened.date(),
            delinquent_since=opened.date() - timedelta(days=dpd),
            arrears=Decimal("1000.00"),
            currency=loan.currency,
            opened_at=opened,
        )
        self.session.add(case)
        await self.session.flush()
        await self.event(case.id, "case.stage_changed", opened, stage=stage, days_past_due=dpd)
        return case.id

    async def event(self, case_id: uuid.UUID, action: str, at: datetime, **payload: Any) -> None:
        from arrears import audit

        await audit.append(
            self.session,
            actor=audit.WORKFLOW,
            action=action,
            reason="test",
            case_id=case_id,
            payload=payload,
            occurred_at=at,
        )

    async def stage(self, case_id: uuid.UUID, stage: str, at: datetime, dpd: int = 30, **facts: Any) -> None:
        await self.event(case_id, "case.stage_changed", at, stage=stage, days_past_due=dpd, **facts)

    async def close(self, case_id: uuid.UUID, outcome: str, at: datetime) -> None:
        await self.event(case_id, "case.closed", at, outcome=outcome)

    async def task(self, case_id: uuid.UUID, key: str, kind: str, created: datetime, due: date) -> None:
        await self.event(case_id, "task.created", created, task=key, kind=kind, due=due.isoformat())

    async def decide(self, case_id: uuid.UUID, key: str, at: datetime) -> None:
        await self.event(case_id, "task.done", at, task=key)
