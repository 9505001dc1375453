"""The due schedule: payments to the oldest instalment first, delinquency from the oldest unpaid."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from policies.delinquency import Instalment, apply_payment, delinquent_since, due_schedule

D = Decimal


def test_the_reported_day_is_the_oldest_due_date_and_one_falls_due_each_month() -> None:
    schedule = due_schedule(
        arrears=D("3500"), installment=D("1000"), days_past_due=70, as_of=date(2027, 3, 16), due_day=5
    )
    # 70 days before 16 March 2027 is 5 January: then 5 February and 5 March
    assert [i.due for i in schedule] == [date(2027, 1, 5), date(2027, 2, 5), date(2027, 3, 5)]
    # the oldest carries what the newer ones leave: payments went to it first
    assert [i.amount for i in schedule] == [D("1500"), D("1000"), D("1000")]
    assert delinquent_since(schedule) == date(2027, 1, 5)


def test_a_due_day_past_the_months_end_falls_on_its_last_day() -> None:
    schedule = due_schedule(
        arrears=D("3000"), installment=D("1000"), days_past_due=59, as_of=date(2027, 3, 30), due_day=28
    )
    assert [i.due for i in schedule] == [date(2027, 1, 30), date(2027, 2, 28), date(2027, 3, 28)]


def test_figures_that_describe_no_schedule_are_one_sum_due_on_the_reported_day() -> None:
    # 70 days late but only one instalment unpaid: the newer two would have to be unpaid too
    lump = due_schedule(
        arrears=D("1000"), installment=D("1000"), days_past_due=70, as_of=date(2027, 3, 16), due_day=5
    )
    assert lump == (Instalment(due=date(2027, 1, 5), amount=D("1000")),)
    no_instalment = due_schedule(
        arrears=D("900"), installment=D("0"), days_past_due=10, as_of=date(2027, 3, 16)
    )
    assert no_instalment == (Instalment(due=date(2027, 3, 6), amount=D("900")),)
    assert due_schedule(arrears=D("0"), installment=D("100"), days_past_due=0, as_of=date(2027, 3, 16)) == ()


def test_a_payment_covering_the_two_oldest_moves_the_delinquency_to_the_third() -> None:
    schedule = due_schedule(
        arrears=D("3000"), installment=D("1000"), days_past_due=70, as_of=date(2027, 3, 16), due_day=5
    )
    after = apply_payment(schedule, payment_id="P-1", amount=D("2000"))
    assert delinquent_since(after) == date(2027, 3, 5)
    assert [i.covered_by for i in after] == [("P-1",), ("P-1",), ()]
    # a partial payment leaves the oldest unpaid: the delinquency stays where it began
    partial = apply_payment(after, payment_id="P-2", amount=D("400"))
    assert delinquent_since(partial) == date(2027, 3, 5)
    assert partial[2].unpaid == D("600") and partial[2].covered_by == ("P-2",)
    paid = apply_payment(partial, payment_id="P-3", amount=D("5000"))
    assert delinquent_since(paid) is None
    assert sum(i.unpaid for i in paid) == 0


def test_a_restarted_case_counts_from_where_payments_moved_its_delinquency() -> None:
    import uuid

    from arrears.case_runs import case_input
    from models.cases import Case
    from models.enums import CaseStage, PolicyPack

    row = Case(
        loan_id=uuid.uuid4(),
        workflow_id="loan-X",
        policy_pack=PolicyPack.US_MORTGAGE,
        stage=CaseStage.EARLY,
        days_past_due_at_open=70,
        opened_as_of=date(2027, 3, 16),
        delinquent_since=date(2027, 3, 5),  # two of three instalments paid since opening
        arrears=D("1000"),
        currency="USD",
    )
    restarted = case_input(row, "X", installment=D("1000"), due_day=5)
    assert restarted.days_past_due == 11
    schedule = due_schedule(
        arrears=restarted.arrears,
        installment=D("1000"),
        days_past_due=restarted.days_past_due,
        as_of=restarted.as_of,
        due_day=5,
    )
    assert schedule == (Instalment(due=date(2027, 3, 5), amount=D("1000")),)
