"""The roll rates planted by the generator come back out of the flow matrix.

Tolerance: a recovered rate p̂ over n loans of its origin bucket (all twelve months pooled) must
lie within 4 standard errors of the planted rate p, sqrt(p(1-p)/n), plus 0.01 for the buckets'
edges. The portfolio is generated from a fixed seed, so the figures are the same on every run.
"""

from __future__ import annotations

import math
from datetime import date

from arrears.analytics import kpis
from arrears.analytics.behaviour import BASE_ROLL_RATES, DEFAULT_MODEL, RollMatrix
from arrears.analytics.loader import Generated
from arrears.analytics.types import BUCKETS, FLOW_TO, Bucket, FlowMatrix, KpiFilters, pooled
from arrears.db import Database
from models.enums import Segment
from tests.analytics.conftest import AS_OF, TREATMENT

START = date(2025, 7, 1)
DELINQUENT: list[Bucket] = [b for b in BUCKETS if b is not Bucket.CURRENT]


async def pooled_flows(db: Database, filters: KpiFilters) -> FlowMatrix:
    async with db.session() as session:
        flows = await kpis.flow_matrices(session, start=START, end=AS_OF, filters=filters)
    return pooled(flows)


def assert_planted(totals: FlowMatrix, planted: RollMatrix, origins: list[Bucket]) -> None:
    for origin in origins:
        n = totals.row_loans(origin)
        assert n >= 100, f"too few loans from {origin.value} to test: {n}"
        for to in FLOW_TO:
            p = planted[origin][to]
            got = float(totals.rate(origin, to) or 0)
            limit = 4 * math.sqrt(p * (1 - p) / n) + 0.01
            assert abs(got - p) <= limit, (
                f"{origin.value} -> {to}: {got:.4f}, planted {p:.4f} (±{limit:.4f}, n={n})"
            )


async def test_every_month_has_flows_from_every_bucket(generated: tuple[Database, Generated]) -> None:
    db, _ = generated
    async with db.session() as session:
        flows = await kpis.flow_matrices(session, start=START, end=AS_OF)
    assert [m.period for m in flows] == [
        date(2025 + (7 + i - 1) // 12, (7 + i - 1) % 12 + 1, 1) for i in range(12)
    ]
    for m in flows:
        assert all(m.row_loans(b) > 0 for b in BUCKETS), m.period


async def test_current_loans_roll_as_planted(generated: tuple[Database, Generated]) -> None:
    db, _ = generated
    assert_planted(await pooled_flows(db, KpiFilters()), BASE_ROLL_RATES, [Bucket.CURRENT])


async def test_treatment_arm_rolls_as_planted_and_unlike_control(
    generated: tuple[Database, Generated],
) -> None:
    db, _ = generated
    treatment = await pooled_flows(db, KpiFilters(strategy_arm="treatment"))
    assert_planted(treatment, TREATMENT, DELINQUENT)
    control = await pooled_flows(db, KpiFilters(strategy_arm="control"))
    # the planted difference shows: the treatment cures more from every delinquent bucket, by
    # at least half the planted difference
    for origin in DELINQUENT:
        cured, base = treatment.rate(origin, "current"), control.rate(origin, "current")
        planted = TREATMENT[origin]["current"] - BASE_ROLL_RATES[origin]["current"]
        assert cured is not None and base is not None, origin
        assert float(cured - base) > planted / 2, origin


async def test_segments_in_the_control_arm_roll_as_planted(generated: tuple[Database, Generated]) -> None:
    db, _ = generated
    for segment in (Segment.GOOD, Segment.BAD):
        totals = await pooled_flows(db, KpiFilters(strategy_arm="control", segment=segment.value))
        assert_planted(totals, DEFAULT_MODEL.segment_roll_rates[segment], DELINQUENT)


async def test_pack_filter_splits_the_portfolio(generated: tuple[Database, Generated]) -> None:
    db, _ = generated
    whole = await pooled_flows(db, KpiFilters())
    parts = [
        await pooled_flows(db, KpiFilters(pack=p))
        for p in ("us_mortgage", "nl_consumer", "se_consumer", "be_consumer")
    ]
    assert all(sum(c.loans for c in p.cells) > 0 for p in parts)
    assert sum(sum(c.loans for c in p.cells) for p in parts) == sum(c.loans for c in whole.cells)
