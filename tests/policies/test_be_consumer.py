"""be_consumer: which book applies, the XIX.2 period, the VII.105 month, and the capped sums."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from models.enums import Channel, PolicyPack, Segment
from policies import get_pack
from policies.base import StepKind
from policies.be_consumer import (
    BE_CONSUMER,
    BeConsumer,
    Book,
    acceleration_allowed,
    book_for,
    vii105_last_day,
    vii106_default_rate_cap,
    vii106_penalty_cap,
    xix2_last_day,
    xix2_period_start,
    xix4_damages_cap,
)


@pytest.mark.parametrize(
    ("product", "book"),
    [
        ("consumer_credit", Book.VII),
        ("personal_loan", Book.VII),
        ("Car_Loan", Book.VII),
        ("revolving_credit", Book.VII),
        ("credit_card", Book.VII),
        ("energy_invoice", Book.XIX),
        ("telecom_subscription", Book.XIX),
        ("", Book.XIX),
        (None, Book.XIX),
    ],
)
def test_the_product_decides_the_book(product: str | None, book: Book) -> None:
    assert book_for(product) is book


@pytest.mark.parametrize(
    ("balance", "cap"),
    [
        ("0.00", "0.00"),
        ("80.00", "20.00"),
        ("150.00", "20.00"),  # up to EUR 150: EUR 20
        ("150.01", "30.00"),  # EUR 30 + 10 % of the part above 150
        ("300.00", "45.00"),
        ("500.00", "65.00"),
        ("500.01", "65.00"),  # EUR 65 + 5 % of the part above 500
        ("1000.00", "90.00"),
        ("39200.00", "2000.00"),  # 65 + 1,935 = 2,000 exactly
        ("100000.00", "2000.00"),  # at most EUR 2,000
    ],
)
def test_xix4_damages_scale(balance: str, cap: str) -> None:
    assert xix4_damages_cap(Decimal(balance)) == Decimal(cap)


def test_vii106_penalty_and_default_interest_caps() -> None:
    assert vii106_penalty_cap(Decimal("5000")) == Decimal("500.00")  # 10 % up to 7,500
    assert vii106_penalty_cap(Decimal("7500")) == Decimal("750.00")
    assert vii106_penalty_cap(Decimal("12500")) == Decimal("1000.00")  # 750 + 5 % of 5,000
    assert vii106_penalty_cap(Decimal("0")) == Decimal("0.00")
    assert vii106_default_rate_cap(Decimal("0.08")) == Decimal("0.0880")  # 8 % plus a 10 % coefficient


def test_vii105_threshold_two_instalments_or_a_fifth_of_the_total_due() -> None:
    instalment = Decimal("300")
    assert acceleration_allowed(in_default=Decimal("600"), installment=instalment)
    assert not acceleration_allowed(in_default=Decimal("599.99"), installment=instalment)
    # 20 % of the total amount due, where it is known
    assert acceleration_allowed(
        in_default=Decimal("400"), installment=Decimal("1000"), total_due=Decimal("2000")
    )
    assert not acceleration_allowed(
        in_default=Decimal("399"), installment=Decimal("1000"), total_due=Decimal("2000")
    )
    # without an instalment or a total, nothing shows the threshold
    assert not acceleration_allowed(in_default=Decimal("10000"), installment=None)


def test_xix2_period_posted_and_electronic() -> None:
    # the commentary's example: sent Monday 18 September 2023, the period starts Thursday 21
    assert xix2_period_start(date(2023, 9, 18), Channel.LETTER) == date(2023, 9, 21)
    assert xix2_last_day(date(2023, 9, 18), Channel.LETTER) == date(2023, 10, 4)  # damages from 5 October
    # posted on a Friday: Monday, Tuesday, Wednesday; the 14th day is the Tuesday two weeks on
    assert xix2_period_start(date(2027, 1, 15), Channel.LETTER) == date(2027, 1, 20)
    assert xix2_last_day(date(2027, 1, 15), Channel.LETTER) == date(2027, 2, 2)
    # an e-mail: the working day after sending (art. XIX.2 § 1), so a Friday's runs from Monday;
    # the 14th day, a Sunday, runs on to the Monday
    assert xix2_period_start(date(2027, 1, 15), Channel.EMAIL) == date(2027, 1, 18)
    assert xix2_last_day(date(2027, 1, 15), Channel.EMAIL) == date(2027, 2, 1)
    # runs planned before counted from the calendar day after, a Saturday
    assert xix2_period_start(date(2027, 1, 15), Channel.EMAIL, electronic_working_day=False) == date(
        2027, 1, 16
    )
    assert xix2_last_day(date(2027, 1, 15), Channel.EMAIL, electronic_working_day=False) == date(2027, 1, 29)
    # a 14th day on a Saturday runs on to the Monday (art. 1.7 Civil Code)
    assert xix2_last_day(date(2027, 1, 9), Channel.EMAIL) == date(2027, 1, 25)
    # holidays: posted Wednesday 29 October 2025, 1 November a Saturday, 3rd working day Monday 3
    assert xix2_period_start(date(2025, 10, 29), Channel.LETTER) == date(2025, 11, 3)
    # posted Thursday 24 December 2026: 25 December, then the weekend; 3rd working day 30 December
    assert xix2_period_start(date(2026, 12, 24), Channel.LETTER) == date(2026, 12, 30)
    # the 14th day is 11 November 2027 (a Thursday), so the 12th
    assert xix2_last_day(date(2027, 10, 28), Channel.EMAIL) == date(2027, 11, 12)


def test_vii105_one_month_from_date_to_date() -> None:
    assert vii105_last_day(date(2027, 3, 15)) == date(2027, 4, 15)  # a Thursday
    assert vii105_last_day(date(2027, 1, 31)) == date(2027, 3, 1)  # 28 February is a Sunday
    assert vii105_last_day(date(2027, 6, 21)) == date(2027, 7, 22)  # 21 July, the national holiday
    assert vii105_last_day(date(2026, 11, 25)) == date(2026, 12, 28)  # Friday 25 December, then weekend


def _pack(product: str, *, installment: str = "300.00", opened: date, dpd: int) -> BeConsumer:
    pack = BE_CONSUMER.for_loan(
        product=product, installment=Decimal(installment), opened_on=opened, days_past_due=dpd
    )
    assert isinstance(pack, BeConsumer)
    return pack


def test_vii_by_the_text_penalty_on_the_balance_and_notice_at_the_threshold() -> None:
    opened = date(2027, 3, 10)
    pack = _pack("personal_loan", installment="600.00", opened=opened, dpd=5).read_by_the_text(
        balance=Decimal("9000.00")
    )
    assert isinstance(pack, BeConsumer)
    # 1,200 due: two instalments; the notice on its letter day, the penalty capped on the balance
    [notice, *_] = pack.early_letters(
        segment=Segment.FORGETFUL,
        delinquent_since=date(2027, 3, 5),
        arrears=Decimal("1200"),
        today=opened,
        taken={},
    )
    assert notice.key == "vii105.formal_notice" and notice.day == date(2027, 3, 26)
    assert notice.amount == Decimal("825.00")  # 750 + 5 % of 1,500
    # 500 due: one due date adds 600 (1,100), the next reaches 1,700: the notice waits for it
    [later, *_] = pack.early_letters(
        segment=Segment.FORGETFUL,
        delinquent_since=date(2027, 3, 5),
        arrears=Decimal("500"),
        today=opened,
        taken={},
    )
    assert later.day == date(2027, 5, 5)
    assert not pack.still_allowed(notice, arrears=Decimal("500"), on=date(2027, 3, 26))
    assert pack.still_allowed(notice, arrears=Decimal("500"), on=date(2027, 5, 5))
    # no instalment known: two instalments cannot be shown, so no notice is planned
    unknown = _pack("personal_loan", installment="0", opened=opened, dpd=5).read_by_the_text(balance=None)
    assert [
        s.key
        for s in unknown.early_letters(
            segment=Segment.FORGETFUL,
            delinquent_since=date(2027, 3, 5),
            arrears=Decimal("500"),
            today=opened,
            taken={},
        )
    ] == ["early.advance"]


def test_registry_and_pack_shape() -> None:
    assert get_pack(PolicyPack.BE_CONSUMER) is BE_CONSUMER
    assert BE_CONSUMER.languages[:2] == ("nl", "fr") and BE_CONSUMER.country == "BE"
    assert BE_CONSUMER.currency == "EUR"


def test_book_xix_plan_reminder_then_damages() -> None:
    opened = date(2027, 1, 5)
    pack = _pack("energy_invoice", opened=opened, dpd=4)
    steps = pack.early_steps(
        segment=Segment.FORGETFUL, delinquent_since=date(2027, 1, 1), arrears=Decimal("300"), today=opened
    )
    [reminder] = [s for s in steps if s.key == "xix2.first_reminder"]
    assert reminder.day == date(2027, 1, 22) and reminder.channel is Channel.LETTER  # day 21, a Friday
    assert reminder.deadline == date(2027, 2, 9) and reminder.amount == Decimal("45.00")
    assert reminder.rule.citation.startswith("art. XIX.2")
    assert steps[-1].kind is StepKind.ADVANCE and steps[-1].day == date(2027, 2, 10)
    fee, hand_off = pack.enforcement_steps(start=date(2027, 2, 10), arrears=Decimal("300"))
    assert fee.kind is StepKind.FEE and fee.amount == Decimal("45.00") and "XIX.4" in fee.rule.citation
    assert hand_off.amount == Decimal("345.00")


def test_book_vii_notice_waits_for_the_second_instalment() -> None:
    # one instalment (300) past due at opening: the notice waits for the next due date
    pack = _pack("personal_loan", opened=date(2027, 1, 10), dpd=9)
    steps = pack.early_steps(
        segment=Segment.BAD,
        delinquent_since=date(2027, 1, 1),
        arrears=Decimal("300"),
        today=date(2027, 1, 10),
    )
    [notice] = [s for s in steps if s.key == "vii105.formal_notice"]
    assert notice.day == date(2027, 2, 1)  # 1 February: the second instalment is due
    assert notice.deadline == date(2027, 3, 1) and notice.channel is Channel.LETTER
    assert "VII.105" in notice.rule.citation
    assert steps[-1].kind is StepKind.ADVANCE and steps[-1].day == date(2027, 3, 2)


def test_book_vii_acceleration_only_above_the_threshold() -> None:
    pack = _pack("personal_loan", opened=date(2027, 1, 10), dpd=40)
    # 600 past due at opening, unpaid: two instalments (and more by then) -> the whole debt
    [step] = pack.enforcement_steps(start=date(2027, 2, 5), arrears=Decimal("600"))
    assert step.key == "vii105.acceleration" and step.kind is StepKind.ENFORCEMENT
    assert step.amount == Decimal("900")  # 600 + the instalment due 1 February
    # paid down to 100 with the February instalment due: 400, under two instalments
    [step] = pack.enforcement_steps(start=date(2027, 2, 5), arrears=Decimal("100"))
    assert step.key == "vii106.claim_instalments_due" and step.amount == Decimal("400")
    assert "threshold not met" in step.rule.citation
