"""Payments from the loan system, applied once each, and the prudential default they may end
or the arrears may reach (EBA/GL/2016/07)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from models.audit_actions import EBA_DEFAULT_KEY
    from models.enums import CaseOutcome
    from policies.base import material_arrears
    from policies.delinquency import apply_payment
    from workflows.dto import PaymentRecord

from workflows.case.context import Case, Transition
from workflows.case.effects import Effects


class Payments:
    """The two background loops that watch the money: payments applied, default reached."""

    def __init__(self, c: Case, fx: Effects) -> None:
        self.c = c
        self.fx = fx

    async def loop(self) -> None:
        c = self.c
        while True:
            await workflow.wait_condition(lambda: bool(c.pending))
            payment = c.pending.pop(0)
            if payment.external_id in c.m.payments_applied:
                continue  # the loan system re-sent a payment already applied
            c.m.payments_applied.append(payment.external_id)
            c.m.arrears = max(Decimal("0"), c.m.arrears - payment.amount)
            if c.m.schedule is not None:  # to the oldest unpaid instalment first
                c.m.schedule = list(
                    apply_payment(c.m.schedule, payment_id=payment.external_id, amount=payment.amount)
                )
            if c.m.promise is not None:
                c.m.promise_paid += payment.amount
            c.version += 1
            await self.fx.activity(
                "record_payment",
                PaymentRecord(
                    case_id=c.inp.case_id,
                    loan_id=c.inp.loan_id,
                    payment=payment,
                    arrears_after=c.m.arrears,
                    delinquent_since=c.delinquent_since() if c.m.schedule is not None else None,
                ),
            )
            c.upsert_search_attributes()
            if c.m.arrears <= 0 and c.m.outcome is None and c.m.stay is None:
                c.interrupt_with(Transition(None, "arrears paid in full", CaseOutcome.CURED, priority=1))

    async def watch_default(self) -> None:
        """Mark the exposure defaulted once it is more than 90 days past due on a material amount.

        Checked on day 91 and then every 30 days while the arrears stay immaterial; a default
        makes the exposure non-performing for reporting (EBA/GL/2016/07).
        """
        c = self.c
        pack, eba = c.pack, c.m.eba
        thresholds = pack.default_materiality
        assert thresholds is not None
        check_on = c.delinquent_since() + timedelta(days=pack.default_days + 1)
        while eba.defaulted_on is None:
            await c.sleep_until(check_on, lambda: False)
            if c.m.arrears > 0 and c.days_past_due() <= pack.default_days:
                # a payment covered the oldest instalments: count again from the oldest unpaid
                check_on = c.delinquent_since() + timedelta(days=pack.default_days + 1)
                continue
            if c.m.arrears > 0 and material_arrears(c.m.arrears + c.m.fees, c.inp.exposure, thresholds):
                eba.defaulted_on = c.today()
                eba.non_performing = True
                c.version += 1
                await self.fx.record(
                    key=EBA_DEFAULT_KEY,
                    kind="eba",
                    status="done",
                    rule=pack.default_rule,
                    detail=f"{c.days_past_due()} days past due on {c.m.arrears + c.m.fees} "
                    f"{c.inp.currency}: defaulted, non-performing",
                    collection=False,
                )
                return
            check_on = c.today() + timedelta(days=30)
