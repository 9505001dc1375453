"""Simulating strategies before rollout: a generated portfolio through the real case workflow on
the time-skipping server, once per strategy, with KPIs, cost and every legal check side by side;
a breach is caught, and a strategy that breaks a rule cannot be promoted."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from arrears.analytics.types import Bucket
from arrears.strategy import checks, simulation, strategies
from arrears.strategy.ledger import CaseLedger
from arrears.strategy.simulation import Portfolio, Run, SimulationError
from models.enums import Channel, PolicyPack, Segment
from policies.strategy import Variant, VariantRefused
from workflows.dto import ActionRecord

US = PolicyPack.US_MORTGAGE


async def test_two_strategies_side_by_side_on_the_real_workflow() -> None:
    portfolio = Portfolio(US, 16, 3)
    standard, mild = strategies.builtin("us-standard"), strategies.builtin("us-mild")
    runs = [await simulation.run_strategy(v, portfolio, days=60) for v in (standard, mild)]
    outcomes = [checks.summarise(r) for r in runs]
    assert [o.strategy for o in outcomes] == ["us-standard@v1", "us-mild@v1"]
    for o in outcomes:
        assert o.cases == 16 and o.days == 60
        assert {"cure_rate", "collected", "enforcement_rate", "cost_per_collected"} <= set(o.kpis)
        assert o.cost["total"] > 0
        rules = {c.rule for c in o.checks}
        assert {"us_mortgage.reg_f.inconvenient_time", "us_mortgage.loss_mitigation.120_day_rule"} <= rules
        assert all(
            c.checked > 0
            for c in o.checks
            if c.rule != "contact.suppression.dispute" and c.rule != "fees.cap"
        )
        assert o.violations == 0, [c.violations for c in o.checks]
    # the same borrowers: the strategies differ in what the workflow sent, not in who they met
    documents = [{doc for ledger in r.ledgers.values() for _, doc, _, _ in ledger.sent} for r in runs]
    assert "late_notice" in documents[0] and "late_notice" not in documents[1]
    assert "reminder_direct_debit" in documents[1]
    assert checks.violations_by_strategy(outcomes) == {"us-standard@v1": 0, "us-mild@v1": 0}


async def test_a_variant_that_weakens_the_law_is_not_simulated() -> None:
    with pytest.raises(VariantRefused):
        await simulation.run_strategy(
            Variant(pack=US, name="night", contact_window=(6, 23)), Portfolio(US, 2, 1), days=5
        )
    with pytest.raises(SimulationError, match="for nl_consumer, the portfolio for us_mortgage"):
        await simulation.run_strategy(strategies.builtin("nl-standard"), Portfolio(US, 2, 1), days=5)
    with pytest.raises(SimulationError, match="200:7"):
        Portfolio.parse("many", US)


def test_the_checks_catch_a_breach() -> None:
    """A case that e-mailed at night, sent a reminder before the due date, and moved to foreclosure
    on day 100: each breach is counted under its rule."""
    ledger = CaseLedger(
        opened=date(2026, 3, 2), delinquent_since=date(2026, 3, 1), arrears=Decimal("900"), currency="USD"
    )
    night = datetime(2026, 3, 3, 3, 0, tzinfo=UTC)  # 22:00 in New York
    ledger.sent.append((Channel.EMAIL, "reminder", night, True))
    ledger.actions += [
        ActionRecord(
            key="reminder.good.1",
            kind="message",
            status="done",
            rule_id="us_mortgage.reminders.cadence",
            citation="",
            at=datetime(2026, 3, 1, 12, tzinfo=UTC),
        ),
        ActionRecord(
            key="foreclosure.first_filing",
            kind="enforcement",
            status="done",
            rule_id="x",
            citation="",
            at=datetime(2026, 6, 9, 12, tzinfo=UTC),
            foreclosure=True,
        ),
    ]
    borrower = simulation.Borrower(
        0, Segment.GOOD, Bucket.D1_29, 1, Decimal("900"), Decimal("900"), [], [], [], []
    )
    run = Run(strategies.builtin("us-standard"), {borrower_id(): ledger}, {borrower_id(): borrower}, 120, 0.0)
    outcome = checks.summarise(run)
    found = {c.rule: c.violations for c in outcome.checks}
    assert found["us_mortgage.reg_f.inconvenient_time"] == ["reminder by email at 22:00 local"]
    assert found["us_mortgage.reminders.cadence"] == ["reminder.good.1 on 2026-03-01, before day 1"]
    assert found["us_mortgage.loss_mitigation.120_day_rule"] == [
        "foreclosure.first_filing on day 100 of delinquency"
    ]
    assert found["us_mortgage.reg_f.validation_notice"]
    assert outcome.violations == 4
    assert checks.violations_by_strategy([outcome]) == {"us-standard@v1": 4}


def borrower_id() -> uuid.UUID:
    """One fixed case ID for the hand-made ledger."""
    return uuid.UUID(int=1)
