"""The KPIs' written definitions: a name, a version, a title, one paragraph and a unit each.

A stored figure records the version of the definition it was computed under; a definition
whose meaning changes gets a new version, and docs/kpis.md says what changed. Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class KpiName(StrEnum):
    """Every KPI the analytics compute, by the name stored with its figures."""

    FLOW_COUNT = "flow_count"
    FLOW_BALANCE = "flow_balance"
    CURE_RATE = "cure_rate"
    REDEFAULT_12M = "redefault_12m"
    PROMISE_RATE = "promise_rate"
    PROMISE_KEPT_RATE = "promise_kept_rate"
    RIGHT_PARTY_CONTACT_RATE = "right_party_contact_rate"
    CONTACT_RATE = "contact_rate"
    LIQUIDATION_RATE = "liquidation_rate"
    RECOVERY_RATE = "recovery_rate"
    DAYS_TO_CURE = "days_to_cure"
    WORSE_FLOW = "worse_flow"
    PULL_THROUGH = "pull_through"
    REG_X_TIMELINESS = "reg_x_timeliness"
    MESSAGE_FUNNEL = "message_funnel"
    COST_PER_UNIT_COLLECTED = "cost_per_unit_collected"


class Unit(StrEnum):
    """What a figure counts: a share (0..1), a number of things, money, or days."""

    RATIO = "ratio"
    COUNT = "count"
    MONEY = "money"
    DAYS = "days"
    MONEY_PER_MONEY = "money_per_money"


@dataclass(frozen=True, slots=True)
class KpiDefinition:
    """One KPI's definition as docs/kpis.md writes it."""

    name: KpiName
    version: int
    title: str
    definition: str
    unit: Unit


_ALL = (
    KpiDefinition(
        KpiName.FLOW_COUNT,
        1,
        "Flow (roll-rate) matrix, by count",
        "For each month, every loan is put in the bucket of its last delinquency snapshot of the "
        "previous month (current: 0 days past due; 1-29, 30-59, 60-89, 90-119, 120+) and of its "
        "last snapshot of the month itself. A loan reported at the previous month's end that has no "
        "snapshot in the month, while the loan system reported that month, has exited (paid off, "
        "sold, charged off, foreclosed). A cell is the number of loans that went from its row's "
        "bucket to its column's; the rate is the cell over its row's total. Loans first reported in "
        "the month have no row.",
        Unit.COUNT,
    ),
    KpiDefinition(
        KpiName.FLOW_BALANCE,
        1,
        "Flow (roll-rate) matrix, by balance",
        "The flow matrix of flow_count, each cell summing the loans' outstanding balance on the "
        "origin snapshot instead of counting them, so that a large loan rolling weighs more than a "
        "small one. The rate is the cell's balance over its row's balance.",
        Unit.MONEY,
    ),
    KpiDefinition(
        KpiName.CURE_RATE,
        1,
        "Cure rate",
        "Of the loans 1 or more days past due on their last snapshot of the previous month, the "
        "share whose last snapshot of the month is current (0 days past due). The denominator is "
        "the delinquent loans at the month's start, the numerator those of them current at its end.",
        Unit.RATIO,
    ),
    KpiDefinition(
        KpiName.REDEFAULT_12M,
        1,
        "12-month re-default rate",
        "Of the loans that cured in a month (delinquent at the previous month's end, current at "
        "this month's), the share that are 30 or more days past due on any snapshot of the 12 "
        "months after it. A cohort less than 12 months old is counted over the months observed so "
        "far, and its point says so (complete = false).",
        Unit.RATIO,
    ),
    KpiDefinition(
        KpiName.PROMISE_RATE,
        1,
        "Promise-to-pay rate",
        "Promises to pay recorded in the month over right-party contacts recorded in the month "
        "(contacts whose outcome is 'reached'), from the audit trail.",
        Unit.RATIO,
    ),
    KpiDefinition(
        KpiName.PROMISE_KEPT_RATE,
        1,
        "Promise kept rate",
        "Of the promises whose check (the promised date plus the pack's grace days) fell in the "
        "month, the share kept: the case received at least the promised amount by then.",
        Unit.RATIO,
    ),
    KpiDefinition(
        KpiName.RIGHT_PARTY_CONTACT_RATE,
        1,
        "Right-party contact rate",
        "Contacts recorded in the month whose outcome is 'reached' (a conversation with the "
        "borrower) over every contact attempt recorded in the month.",
        Unit.RATIO,
    ),
    KpiDefinition(
        KpiName.CONTACT_RATE,
        1,
        "Contact rate",
        "Contact attempts in the month that reached a person, the borrower or someone else "
        "('reached' or 'wrong_number'), over every contact attempt recorded in the month.",
        Unit.RATIO,
    ),
    KpiDefinition(
        KpiName.LIQUIDATION_RATE,
        1,
        "Liquidation rate",
        "Payments received in the month on loans delinquent at the previous month's end, over "
        "those loans' arrears on their last snapshot of the previous month.",
        Unit.RATIO,
    ),
    KpiDefinition(
        KpiName.RECOVERY_RATE,
        1,
        "Recovery rate",
        "Payments received in the month on loans whose case had closed charged off or settled "
        "before the payment, over the balance those loans carried on their last snapshot before "
        "the closure, summed over every such loan closed by the month's start.",
        Unit.RATIO,
    ),
    KpiDefinition(
        KpiName.DAYS_TO_CURE,
        1,
        "Average days to cure",
        "For the cases closed cured in the month, the mean number of days from the oldest unpaid "
        "instalment at opening (the opening report's date less its days past due) to the closure.",
        Unit.DAYS,
    ),
    KpiDefinition(
        KpiName.WORSE_FLOW,
        1,
        "Worse flows (Fannie Mae STAR style)",
        "For each origin bucket, the share of its loans whose bucket at the month's end is worse "
        "(further past due) than at the previous month's end; read from the flow matrix by count. "
        "Exits are not worse. The series is kept per origin bucket.",
        Unit.RATIO,
    ),
    KpiDefinition(
        KpiName.PULL_THROUGH,
        1,
        "Pull-through into foreclosure alternatives (Freddie Mac style)",
        "Of the cases that entered loss mitigation in the month, the share that by the end of "
        "the reported range closed with a foreclosure alternative: modified (a modification or "
        "repayment plan) or settled (a short sale or deed in lieu).",
        Unit.RATIO,
    ),
    KpiDefinition(
        KpiName.REG_X_TIMELINESS,
        1,
        "Loss-mitigation timeliness (Reg X, 12 CFR 1024.41)",
        "Of the loss-mitigation deadlines that fell due in the month (acknowledgment within 5 "
        "business days, 1024.41(b)(2)(i)(B); evaluation of a complete application within 30 days, "
        "1024.41(c)(1)), the share met: the acknowledgment sent or the evaluation decided on or "
        "before its due day. A deadline still open after its due day counts as missed.",
        Unit.RATIO,
    ),
    KpiDefinition(
        KpiName.MESSAGE_FUNNEL,
        1,
        "Message funnel",
        "Messages created in the month, and how far they got: sent (accepted by the mail server "
        "or SMS gateway, or printed), delivered (a delivery event; without engagement events, "
        "taken as sent), opened (where known: a page viewed through the message), clicked (a link "
        "clicked) and paid (a payment succeeded through the message, or, without engagement "
        "events, a payment on the case within 14 days of the message). The same stages are also "
        "counted per message template (the template of the message's document) over the whole "
        "range, under the same filters.",
        Unit.COUNT,
    ),
    KpiDefinition(
        KpiName.COST_PER_UNIT_COLLECTED,
        1,
        "Cost per unit collected",
        "The month's contact costs (messages sent per channel and calls recorded, each at the "
        "cost per item set in COLLECTION_COSTS, by channel or by pack and channel) over the payments "
        "received in the month on loans with a case. Only computed where costs are configured.",
        Unit.MONEY_PER_MONEY,
    ),
)

DEFINITIONS: dict[KpiName, KpiDefinition] = {d.name: d for d in _ALL}


def definition(name: KpiName | str) -> KpiDefinition:
    """The current definition of a KPI; ValueError names the known ones for an unknown name."""
    try:
        return DEFINITIONS[KpiName(name)]
    except ValueError:
        raise ValueError(f"unknown KPI {name!r}; known: {', '.join(k.value for k in KpiName)}") from None
