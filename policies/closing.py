"""Closing a case by staff decision is a legal act: each outcome only where the facts allow it.

The outcome feeds the regulator reports (a `foreclosed` case counts as a completed foreclosure,
a `cured` one as current), so a close is refused, with the rule, when the case does not show
the facts the outcome states.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from models.enums import CaseOutcome
from policies.base import Pack, Rule

CLOSE_RULE = Rule("case.closed_by_supervisor", "servicing policy: supervisor decision")
FOUR_EYES_RULE = Rule("case.close.four_eyes", "servicing policy: a second supervisor approves a close")
APPROVAL_SLA_DAYS = 2
NOTHING_DUE_RULE = Rule(
    "case.close.nothing_due",
    "12 CFR 1024.31 (delinquency); servicing policy: cured or paid off means nothing due",
)
SALE_HELD_RULE = Rule("case.close.sale_held", "servicing policy: foreclosed only after the sale was held")
REASON_RULE = Rule("case.close.reason", "servicing policy: a close states its reason")
MIN_REASON_LETTERS = 3


@dataclass(frozen=True, slots=True)
class CloseFacts:
    """What the case shows when a close is asked for."""

    arrears: Decimal
    fees: Decimal
    days_past_due: int
    sale_held: bool
    defaulted: bool  # CRR Art. 178 default recorded (EU packs)


def close_refusal(pack: Pack, outcome: CaseOutcome, reason: str, facts: CloseFacts) -> str | None:
    """Why this close may not happen, naming the rule and its citation; None if it may."""
    if sum(ch.isalpha() for ch in reason) < MIN_REASON_LETTERS:
        return _refused(REASON_RULE, "a close needs a reason in words")
    due = facts.arrears + facts.fees
    if outcome in (CaseOutcome.CURED, CaseOutcome.PAID_OFF) and due > 0:
        return _refused(NOTHING_DUE_RULE, f"{outcome.value} needs nothing due; {due:.2f} is still due")
    if outcome is CaseOutcome.FORECLOSED and not facts.sale_held:
        return _refused(SALE_HELD_RULE, "no foreclosure sale has been held on this case")
    if outcome is CaseOutcome.CHARGED_OFF:
        rule = pack.charge_off_rule
        if facts.days_past_due < pack.charge_off_days:
            return _refused(
                rule,
                f"charge-off from {pack.charge_off_days} days past due; the case is at {facts.days_past_due}",
            )
        if pack.default_materiality is not None and not facts.defaulted:
            return _refused(rule, "charge-off needs the exposure in default (CRR Art. 178) first")
    return None


def _refused(rule: Rule, why: str) -> str:
    return f"{why} (rule {rule.id}: {rule.citation})"
