"""se_consumer under a strategy variant: the variant's reminder fee is the one charged, on the day
of the first reminder that went out, and the audit trail carries it."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlmodel import col, select

from arrears.db import Database
from models.audit import AuditEvent
from models.enums import CaseOutcome, PolicyPack
from policies.strategy import Variant
from tests.workflows.replay_scenarios import fee_variant, under_variant
from workflows.case import CaseWorkflow
from workflows.dto import CloseRequest

CITATION = (
    "Lag (1981:739) om ersättning för inkassokostnader m.m. 4 §: 60 kr, where agreed when the debt arose"
)


async def _under(open_case: Any, variant: Variant) -> Any:
    case = await open_case("se_consumer", days_past_due=1, reminder_fee_agreed=True)
    await under_variant(case, variant)
    return case


async def _audited_fees(db: Database, case: Any) -> list[tuple[str, str | None]]:
    """The reminder fees in the audit trail: (amount, citation)."""
    case_id = (await case.state()).case_id
    async with db.session() as session:
        rows = (
            await session.exec(
                select(AuditEvent).where(AuditEvent.case_id == case_id).order_by(col(AuditEvent.arrival))
            )
        ).all()
    return [(r.payload["amount"], r.citation) for r in rows if r.payload.get("key") == "fees.reminder"]


async def test_the_variants_fee_is_charged_with_the_first_reminder(open_case: Any, db: Database) -> None:
    lower = await _under(open_case, fee_variant(30))
    none = await _under(open_case, fee_variant(0))
    own = await _under(open_case, Variant(pack=PolicyPack.SE_CONSUMER, name="se-as-the-pack"))
    cases = (lower, none, own)
    try:
        reminder_day = lower.day(3)  # a forgetful payer's first reminder
        await lower.to(reminder_day - timedelta(days=1), hour=23)
        assert [(await c.state()).fees for c in cases] == [Decimal("0")] * 3
        await lower.to(reminder_day, hour=12)
        for case in cases:
            assert await case.fired_on("reminder.") == [reminder_day]

        fee = (await lower.actions("fees.reminder"))[0]
        assert (fee.at.date(), fee.amount, fee.citation) == (reminder_day, Decimal("30.00"), CITATION)
        assert await _audited_fees(db, lower) == [("30.00", CITATION)]

        assert await none.actions("fees.reminder") == []
        assert (await none.state()).fees == Decimal("0")
        assert await _audited_fees(db, none) == []

        fee = (await own.actions("fees.reminder"))[0]
        assert (fee.at.date(), fee.amount) == (reminder_day, Decimal("60.00"))

        await lower.to(lower.day(9))  # the second reminder carries no second fee
        for case in cases:
            assert await case.fired_on("reminder.") == [reminder_day, lower.day(8)]
        assert [(await c.state()).fees for c in cases] == [Decimal("30.00"), Decimal("0"), Decimal("60.00")]
    finally:
        await asyncio.gather(*(_close(c) for c in cases))


async def _close(case: Any) -> None:
    """The runs started under a variant are not the fixture's: close them as a supervisor would."""
    await case.handle.execute_update(
        CaseWorkflow.close_case,
        CloseRequest(by="supervisor", reason="test over", outcome=CaseOutcome.TRANSFERRED),
    )
