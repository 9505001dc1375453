"""The Reg F validation notice's dates and itemization (12 CFR 1006.34(b)(3), (b)(5), (c)(2))."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from policies.us_mortgage import US_MORTGAGE
from policies.validation_notice import assumed_receipt, itemize, provided_on, validation_period_end


@pytest.mark.parametrize(
    ("queued", "mailed", "received", "end"),
    [
        # Friday: mailed Monday; five business days; thirty days
        (date(2026, 11, 20), date(2026, 11, 23), date(2026, 12, 1), date(2026, 12, 31)),
        # Christmas Eve: Christmas and New Year's Day are not counted, across the year's end
        (date(2026, 12, 24), date(2026, 12, 28), date(2027, 1, 5), date(2027, 2, 4)),
        # New Year's Eve: mailed after the holiday weekend
        (date(2026, 12, 31), date(2027, 1, 4), date(2027, 1, 11), date(2027, 2, 10)),
    ],
)
def test_the_validation_period_runs_30_days_from_assumed_receipt(
    queued: date, mailed: date, received: date, end: date
) -> None:
    assert provided_on(queued) == mailed
    assert assumed_receipt(mailed) == received
    assert validation_period_end(queued) == end


def test_the_pack_step_gives_the_same_end_date() -> None:
    steps = US_MORTGAGE.recurring_obligations(
        delinquent_since=date(2026, 11, 1), opened_on=date(2026, 12, 24)
    )
    notice = next(s for s in steps if s.key == "reg_f.validation_notice")
    assert notice.deadline == date(2027, 2, 4) and notice.document == "validation_notice"
    assert "until 2027-02-04 (12 CFR 1006.34(b)(5))" in notice.detail


def test_itemization_adds_interest_and_fees_and_takes_off_payments() -> None:
    items = itemize(
        itemization_date=date(2026, 11, 20),
        balance_on_itemization_date=Decimal("150000.00"),
        latest_balance=Decimal("149100.00"),  # a later report: 1,200 paid, 300 interest accrued
        paid_before_latest_report=Decimal("1200.00"),
        payments_since=Decimal("1500.00"),
        fees_since=Decimal("40.00"),
    )
    assert (items.interest, items.fees, items.payments_and_credits) == (
        Decimal("300.00"),
        Decimal("40.00"),
        Decimal("1500.00"),
    )
    assert items.current_amount == Decimal("148840.00")


def test_a_reported_fall_the_payments_do_not_explain_is_a_credit() -> None:
    items = itemize(
        itemization_date=date(2026, 11, 20),
        balance_on_itemization_date=Decimal("1000.00"),
        latest_balance=Decimal("900.00"),
        paid_before_latest_report=Decimal("0"),
        payments_since=Decimal("0"),
        fees_since=Decimal("0"),
    )
    assert (items.interest, items.payments_and_credits, items.current_amount) == (
        Decimal("0.00"),
        Decimal("100.00"),
        Decimal("900.00"),
    )
