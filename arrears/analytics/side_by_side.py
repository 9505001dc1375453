"""The dashboard's KPIs with their sources read side by side, one connection each, in one snapshot.

`kpis.dashboard` reads its sources one after another on one connection: the snapshots' flows,
the audit trail's contacts and promises, the messages' funnel, loss mitigation's timeliness, the
payments. They do not depend on one another, so here each runs in a session of its own at the
same time (PostgreSQL runs each on a core of its own). The sessions share one REPEATABLE READ
snapshot, exported by the first and imported by the others before any of them reads, so the
figures are those of one moment, as on one connection.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import date
from decimal import Decimal
from typing import TypeVar

from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from arrears.analytics import kpis
from arrears.analytics.types import ALL, Dashboard, KpiFilters, months
from arrears.db import Database

T = TypeVar("T")
READERS = 5  # the sources read at once (the pool's default size)


@asynccontextmanager
async def one_snapshot(db: Database, count: int) -> AsyncIterator[list[AsyncSession]]:
    """`count` read-only sessions that see the database as of one moment."""
    async with AsyncExitStack() as stack:
        first = await stack.enter_async_context(db.session())
        await first.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"))
        snapshot = (await first.execute(text("SELECT pg_export_snapshot()"))).scalar_one()
        sessions = [first]
        for _ in range(count - 1):
            other = await stack.enter_async_context(db.session())
            await other.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"))
            await other.execute(text(f"SET TRANSACTION SNAPSHOT '{snapshot}'"))
            sessions.append(other)
        yield sessions


async def dashboard(
    db: Database,
    *,
    start: date,
    end: date,
    filters: KpiFilters = ALL,
    costs: Mapping[str, Decimal] | None = None,
) -> Dashboard:
    """What `kpis.dashboard` answers, its sources read side by side."""
    periods = months(start, end)
    async with one_snapshot(db, READERS) as sessions:
        free: asyncio.Queue[AsyncSession] = asyncio.Queue()
        for s in sessions:
            free.put_nowait(s)

        async def on_one(read: Callable[[AsyncSession], Awaitable[T]]) -> T:
            session = await free.get()  # a session runs one statement at a time
            try:
                return await read(session)
            finally:
                free.put_nowait(session)

        def within(fn: Callable[..., Awaitable[T]]) -> Callable[[AsyncSession], Awaitable[T]]:
            return lambda s: fn(s, start=start, end=end, filters=filters)

        async with asyncio.TaskGroup() as group:
            figures = group.create_task(on_one(lambda s: kpis.snapshot_figures(s, start, end, filters)))
            activity = group.create_task(on_one(lambda s: kpis.activity_rows(s, start, end, filters)))
            funnel = group.create_task(on_one(within(kpis.message_funnel)))
            timeliness = group.create_task(on_one(within(kpis.reg_x_timeliness)))
            recovery = group.create_task(on_one(within(kpis.recovery_rate)))
            days = group.create_task(on_one(within(kpis.days_to_cure)))
            pulled = group.create_task(on_one(within(kpis.pull_through)))
            cost = group.create_task(
                on_one(
                    lambda s: kpis.cost_per_unit_collected(
                        s, start=start, end=end, costs=costs or {}, filters=filters
                    )
                )
            )
    return kpis.assemble(
        start=start,
        end=end,
        filters=filters,
        periods=periods,
        figures=figures.result(),
        activity=activity.result(),
        later=(recovery.result(), days.result(), pulled.result()),
        timeliness=timeliness.result(),
        funnel=funnel.result(),
        cost=cost.result(),
    )
