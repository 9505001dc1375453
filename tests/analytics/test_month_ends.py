"""The month-ends the database keeps for the flow matrix (loan_month_ends, migration 0019).

The flow matrix is read from them whenever they answer for the view; these tests hold them to
the snapshots they are kept from: the same flows on a generated portfolio, reports arriving in
any order, and a view from before a late report, which must not see it.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import text

from arrears.analytics import kpis, side_by_side, sql
from arrears.analytics.loader import Generated
from arrears.analytics.types import ALL, Bucket, KpiFilters
from arrears.db import Database
from arrears.embedded import EmbeddedPostgres
from models.enums import PolicyPack
from tests.analytics.conftest import AS_OF, fresh_database
from tests.factories import Portfolio


async def _flow_rows(db: Database, statement: Any, values: dict[str, Any]) -> list[tuple[Any, ...]]:
    async with db.session() as session:
        connection = await session.connection()
        return sorted(tuple(r) for r in (await connection.execute(statement, values)).all())


@pytest.mark.parametrize("filters", [ALL, KpiFilters(pack=PolicyPack.NL_CONSUMER.value)], ids=["all", "nl"])
async def test_kept_month_ends_give_the_flows_the_snapshots_give(
    generated: tuple[Database, Generated], filters: KpiFilters
) -> None:
    db, _ = generated
    values = sql.params(
        filters,
        lo=date(2025, 6, 1),
        hi=AS_OF,
        t=datetime.combine(AS_OF, datetime.max.time(), UTC),
    )
    kept = await _flow_rows(db, sql.month_ends(filters), values)
    paired = await _flow_rows(db, sql.snapshots(filters), values)
    assert len(kept) > 100  # every month's buckets and destinations, with loans in them
    assert sum(r[3] for r in kept) > 10_000
    assert kept == paired


@pytest.fixture
async def db(postgres: EmbeddedPostgres) -> AsyncIterator[Database]:
    database = await fresh_database(postgres, "month_ends")
    yield database
    await database.dispose()


async def _month_ends(db: Database, loan: uuid.UUID) -> list[tuple[Any, ...]]:
    async with db.session() as session:
        rows = await session.execute(
            text(
                "SELECT month, as_of, days_past_due, next_days_past_due FROM loan_month_ends "
                "WHERE loan_id = :loan ORDER BY month"
            ),
            {"loan": loan},
        )
        return [tuple(r) for r in rows.all()]


async def test_month_ends_follow_reports_in_any_order(db: Database) -> None:
    async with db.session() as session:
        p = Portfolio(session)
        loan = await p.loan(dpd=60, as_of=date(2025, 3, 31))  # March first
        await p.snapshot(loan, dpd=0, as_of=date(2025, 1, 31))  # then January
        await p.snapshot(loan, dpd=10, as_of=date(2025, 2, 10))  # February, twice
        await p.snapshot(loan, dpd=35, as_of=date(2025, 2, 28))
        await p.snapshot(loan, dpd=20, as_of=date(2025, 2, 15))  # earlier than February's end: no change
    assert await _month_ends(db, loan) == [
        (date(2025, 1, 1), date(2025, 1, 31), 0, 35),
        (date(2025, 2, 1), date(2025, 2, 28), 35, 60),
        (date(2025, 3, 1), date(2025, 3, 31), 60, None),
    ]


async def test_a_view_from_before_a_late_report_does_not_see_it(db: Database) -> None:
    feb_end = date(2025, 2, 28)
    async with db.session() as session:
        p = Portfolio(session)
        loan = await p.loan(dpd=0, as_of=date(2025, 1, 31))
        await p.snapshot(loan, dpd=10, as_of=date(2025, 2, 10))
        # February's last report reached the loan system's feed only in March
        await p.snapshot(loan, dpd=35, as_of=feb_end, at=datetime(2025, 3, 5, 9, tzinfo=UTC))

    async with db.session() as session:
        then = await kpis.flow_matrices(session, start=date(2025, 2, 1), end=feb_end)
    assert then[0].loans(Bucket.CURRENT, Bucket.D1_29.value) == 1  # as known at February's end
    assert then[0].loans(Bucket.CURRENT, Bucket.D30_59.value) == 0

    async with db.session() as session:
        now = await kpis.flow_matrices(session, start=date(2025, 2, 1), end=date(2025, 3, 31))
    assert now[0].loans(Bucket.CURRENT, Bucket.D30_59.value) == 1  # as known now


async def test_sources_read_side_by_side_give_the_dashboard_one_connection_gives(
    generated: tuple[Database, Generated],
) -> None:
    db, _ = generated
    start = date(2025, 7, 1)
    async with db.session() as session:
        one = await kpis.dashboard(session, start=start, end=AS_OF)
    side = await side_by_side.dashboard(db, start=start, end=AS_OF)
    assert side == one
    assert sum(c.loans for m in side.flows for c in m.cells) > 10_000


async def test_side_by_side_sessions_see_one_moment(db: Database) -> None:
    async with side_by_side.one_snapshot(db, 2) as (first, second):
        before = (await second.execute(text("SELECT count(*) FROM loans"))).scalar_one()
        async with db.session() as writer:  # a loan arrives while the dashboard reads
            await Portfolio(writer).loan(dpd=0, as_of=date(2025, 1, 31))
        assert (await first.execute(text("SELECT count(*) FROM loans"))).scalar_one() == before
        assert (await second.execute(text("SELECT count(*) FROM loans"))).scalar_one() == before
