"""The Reg F validation notice (12 CFR 1006.34): its dates and its itemization. Pure.

Written from 12 CFR 1006.34 and Model Form B-1 of appendix B to part 1006 as published in the
Debt Collection Practices (Regulation F) final rules (85 FR 76734 and 86 FR 5766); the official
text was not at hand here, so the wording below and in the letters is taken from that
knowledge of the rule and the model form, and a compliance review should hold it against the
current eCFR text. The letters (`docs_templates/letters/us_mortgage/*/validation_notice`) lay
out every element of 1006.34(c) in the form's order and words, for the safe harbour of
1006.34(d)(2).

**Itemization date** (1006.34(b)(3)): of the five reference dates (last statement, charge-off,
last payment, transaction, judgment) this system can ascertain the amount of the debt only on
the last statement date. For a `us_mortgage` loan the loan system reports the account as its
last periodic statement (12 CFR 1026.41) shows it: `as_of` is that statement's date and
`balance` the amount owed on it (the intake contract); the case opens on such a report. The
other dates fail: the loan is not charged off while it is collected as a default, there is no
judgment, the amount on the transaction (origination) date is not held, and the last payment's
date is held only when the loan system sent that payment, never the balance after it. The date
is the report the case opened on, so every notice for the debt uses the same one
(1006.34(b)(3) asks for consistent use).

**Itemization** (1006.34(c)(2)(viii)): since that date, the fees the case charged; payments
the loan system reported; interest as the rise in the balance the loan system reports after the
itemization date, payments added back (the case charges no interest itself); a fall beyond the
payments is a credit. The current amount (1006.34(c)(2)(ix)) is the amount on the itemization
date plus interest and fees, less payments and credits.

**Validation period** (1006.34(b)(5)): ends 30 days after the consumer receives the notice,
receipt assumed on the fifth day after it is provided, not counting Saturdays, Sundays and the
legal public holidays of 5 U.S.C. 6103(a) (observed days also skipped: a later end only gives
the consumer more time). A letter is provided when the print run mails it: the day after it
is queued (the run fires at 02:00 UTC), moved to a business day.

Residential mortgage debt may instead send the periodic statement under 1006.34(c)(5); the
system does not hold that statement, so it itemizes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from policies.calendar import add_business_days, next_business_day

DOCUMENT = "validation_notice"
PERIOD_CITATION = "12 CFR 1006.34(b)(5)"
RECEIPT_BUSINESS_DAYS = 5
VALIDATION_DAYS = 30
CFPB_WEBSITE = "www.cfpb.gov/debt-collection"
ZERO = Decimal("0.00")


def provided_on(queued_on: date, country: str = "US") -> date:
    """The day a letter queued on `queued_on` is mailed: the next print run, on a business day."""
    return next_business_day(queued_on + timedelta(days=1), country)


def assumed_receipt(provided: date, country: str = "US") -> date:
    """The fifth day after `provided`, Saturdays, Sundays and federal holidays not counted (1006.34(b)(5))."""
    return add_business_days(provided, RECEIPT_BUSINESS_DAYS, country)


def validation_period_end(queued_on: date, country: str = "US") -> date:
    """The end date of the validation period for a notice queued on `queued_on`: 30 days after
    its assumed receipt (1006.34(b)(5)); the dispute and original-creditor prompts state it."""
    return assumed_receipt(provided_on(queued_on, country), country) + timedelta(days=VALIDATION_DAYS)


def period_detail(opened_on: date, end: date) -> str:
    """What the audit record says of the notice: when it is due and the period's end it states."""
    return (
        f"due by {(opened_on + timedelta(days=5)).isoformat()}; the borrower may dispute until "
        f"{end.isoformat()} ({PERIOD_CITATION})"
    )


@dataclass(frozen=True, slots=True)
class Itemization:
    """The debt on the itemization date and what changed it since (1006.34(c)(2)(vi)-(ix))."""

    itemization_date: date
    amount_on_itemization_date: Decimal
    interest: Decimal
    fees: Decimal
    payments_and_credits: Decimal

    @property
    def current_amount(self) -> Decimal:
        """The current amount of the debt: never below zero (an overpayment is not a debt)."""
        owed = self.amount_on_itemization_date + self.interest + self.fees - self.payments_and_credits
        return max(owed, ZERO).quantize(Decimal("0.01"))


def itemize(
    *,
    itemization_date: date,
    balance_on_itemization_date: Decimal,
    latest_balance: Decimal,
    paid_before_latest_report: Decimal,
    payments_since: Decimal,
    fees_since: Decimal,
) -> Itemization:
    """Itemize the debt from the loan system's reports, its payments and the case's fees.

    `latest_balance` is the balance of the loan system's latest report after the itemization
    date (or the itemization date's own), `paid_before_latest_report` the payments received
    after the itemization date up to that report's date, `payments_since` every payment after
    the itemization date. A rise of the reported balance that the payments do not explain is
    interest; a fall beyond them a credit.
    """
    change = latest_balance - balance_on_itemization_date + paid_before_latest_report
    interest = max(change, ZERO)
    credits = max(-change, ZERO)
    return Itemization(
        itemization_date=itemization_date,
        amount_on_itemization_date=balance_on_itemization_date.quantize(Decimal("0.01")),
        interest=interest.quantize(Decimal("0.01")),
        fees=fees_since.quantize(Decimal("0.01")),
        payments_and_credits=(payments_since + credits).quantize(Decimal("0.01")),
    )
