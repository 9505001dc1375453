"""Days past due and the due schedule: the one rule, pure, for the workflow, the API and the
reports alike.

A payment goes to the oldest instalment still unpaid, and the delinquency runs from the oldest
instalment that is still unpaid (12 CFR 1024.31, "delinquency", and its official interpretation,
comment 31 (Delinquency)-3; CRR Art. 178(1)(b) and EBA/GL/2016/07 para. 16-18 count the days
past due the same way). So a payment that covers the two oldest instalments moves the day the
delinquency began to the third one's due date.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal

from policies.base import Rule

DELINQUENCY_RULE = Rule(
    "delinquency.oldest_unpaid_instalment",
    "12 CFR 1024.31 (delinquency) and Supplement I, comment 31 (Delinquency)-3; "
    "CRR Art. 178(1)(b); EBA/GL/2016/07 para. 16-18",
)


@dataclass(frozen=True, slots=True)
class Instalment:
    """One instalment past due when the case opened: what was due, what has covered it, and by
    which payments (their external IDs), oldest payment first."""

    due: date
    amount: Decimal
    paid: Decimal = Decimal("0")
    covered_by: tuple[str, ...] = ()

    @property
    def unpaid(self) -> Decimal:
        return max(Decimal("0"), self.amount - self.paid)


def days_past_due(*, reported: int, as_of: date, on: date, arrears: Decimal) -> int:
    """Days past due on `on` of a loan reported `reported` days past due on `as_of`; 0 once
    its arrears are paid."""
    if arrears <= 0:
        return 0
    return reported + (on - as_of).days


def _monthly(day: date, due_day: int, months: int) -> date:
    """`day` moved `months` months on, on the loan's due day (clamped to the month's end)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(due_day, calendar.monthrange(year, month + 1)[1]))


def due_schedule(
    *, arrears: Decimal, installment: Decimal, days_past_due: int, as_of: date, due_day: int | None = None
) -> tuple[Instalment, ...]:
    """The instalments still unpaid on `as_of`, from what the loan system reports.

    The oldest unpaid one fell due `days_past_due` days before `as_of`, and one more fell due
    each month after it up to `as_of`. Payments went to the oldest first, so the newer ones are
    unpaid in full and the oldest carries what is left of the arrears (more than one instalment
    when interest or charges are part of the arrears). Where the figures describe no such
    schedule (no instalment amount, or arrears too small to leave every instalment since the
    reported day unpaid), the arrears are one sum due on the reported day: the delinquency then
    runs from that day until they are paid, as the report says.
    """
    if arrears <= 0:
        return ()
    oldest = as_of - timedelta(days=days_past_due)
    lump = (Instalment(due=oldest, amount=arrears),)
    if installment <= 0:
        return lump
    day = due_day or oldest.day
    dues = [oldest]
    while (following := _monthly(dues[-1], day, 1)) <= as_of:
        dues.append(following)
    newer = installment * (len(dues) - 1)
    if arrears <= newer:
        return lump
    return (
        Instalment(due=oldest, amount=arrears - newer),
        *(Instalment(due=due, amount=installment) for due in dues[1:]),
    )


def apply_payment(
    schedule: Sequence[Instalment], *, payment_id: str, amount: Decimal
) -> tuple[Instalment, ...]:
    """The schedule after a payment, applied to the oldest unpaid instalment first."""
    left, after = amount, []
    for instalment in schedule:
        covered = min(left, instalment.unpaid)
        if covered > 0:
            left -= covered
            instalment = replace(
                instalment,
                paid=instalment.paid + covered,
                covered_by=(*instalment.covered_by, payment_id),
            )
        after.append(instalment)
    return tuple(after)


def due_dates(since: date, *, due_day: int, count: int) -> tuple[date, ...]:
    """`count` payment due dates from `since` on, one a month on the loan's due day (clamped to the
    month's end): the dates a schedule built by `due_schedule` falls due on, and those after it."""
    return (since, *(_monthly(since, due_day, k) for k in range(1, count)))


def delinquent_since(schedule: Sequence[Instalment]) -> date | None:
    """The due date of the oldest instalment still unpaid; None when every one is paid."""
    return next((i.due for i in schedule if i.unpaid > 0), None)
