"""The delinquency report: loans and balances by days past due, foreclosure, roll rates."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from arrears.reports.common import Cell, Table, covered_packs, events, execute, money, share
from arrears.reports.portfolio import BUCKET_PARAMS, BUCKETS, EXITED, bucket_ctes, bucket_params
from models.audit_actions import AuditAction
from models.enums import CaseStage

TITLE = "Delinquency: loans and balances by days past due, foreclosure, roll rates"
NEW = "new"  # the origin of a loan first reported during the period


_MOVES_SQL = text(
    f"""
WITH {bucket_ctes("b")}, {bucket_ctes("a")}
SELECT a.pack, a.product, a.currency, coalesce(b.bucket, :new) AS origin, a.bucket AS dest,
       count(*) AS loans, sum(a.balance) AS balance
FROM state_a a LEFT JOIN state_b b ON b.loan_id = a.loan_id
GROUP BY 1, 2, 3, 4, 5
"""
)


async def delinquency(session: AsyncSession, start: date, end: date, pack: str | None) -> list[Table]:
    """Buckets by pack and product, foreclosure starts and inventory, cure and roll rates."""
    # every loan's bucket at the start and at the end of the period, grouped in the database
    moved = await execute(
        session,
        _MOVES_SQL,
        {
            **BUCKET_PARAMS,
            **bucket_params("b", start - timedelta(days=1)),
            **bucket_params("a", end),
            "pack": pack,
            "new": NEW,
        },
    )
    counts: Counter[tuple[str, str, str, str]] = Counter()
    balances: defaultdict[tuple[str, str, str, str], Decimal] = defaultdict(Decimal)
    moves: Counter[tuple[str, str, str]] = Counter()
    inventory: Counter[str] = Counter()
    found: set[str] = set()
    for r in moved:
        found.add(r.pack)
        if r.dest != EXITED:
            counts[(r.pack, r.product, r.currency, r.dest)] += r.loans
            balances[(r.pack, r.product, r.currency, r.dest)] += r.balance
        if r.dest == "foreclosure":
            inventory[r.pack] += r.loans
        if r.origin != EXITED:
            moves[(r.pack, r.origin, r.dest)] += r.loans
    packs = covered_packs(pack, found)
    products = sorted({k[:3] for k in counts})
    buckets = Table(
        "buckets",
        f"Loans and balances by days past due on {end.isoformat()}",
        ["pack", "product", "currency", "bucket", "loans", "balance"],
        [
            [p, product, cur, b, counts[(p, product, cur, b)], money(balances[(p, product, cur, b)])]
            for p, product, cur in products
            for b in BUCKETS
        ],
        note="current: under 30 days past due; foreclosure: an open case in its enforcement stage",
    )

    entered = await events(
        session,
        action=AuditAction.CASE_STAGE_CHANGED,
        start=start,
        end=end,
        pack=pack,
        payload=("stage", CaseStage.ENFORCEMENT.value),
    )
    starts = Counter(e.policy_pack for e in entered)
    foreclosure = Table(
        "foreclosure",
        "Foreclosure and enforcement: starts in the period, inventory at its end",
        ["pack", "starts", "inventory"],
        [[p, starts[p], inventory[p]] for p in packs],
    )

    order = {b: i for i, b in enumerate(BUCKETS)}
    rolls: list[list[Cell]] = []
    for p in packs:
        for origin in (*BUCKETS, "new"):
            row = {to: moves[(p, origin, to)] for to in (*BUCKETS, "exited")}
            total = sum(row.values())
            cured = "" if origin in ("current", "new") else share(row["current"], total)
            worse = (
                sum(n for to, n in row.items() if to in order and order[to] > order[origin])
                if origin in order
                else 0
            )
            rolls.append(
                [p, origin, total, *row.values(), cured, share(worse, total) if origin in order else ""]
            )
    roll_rates = Table(
        "roll_rates",
        f"From the bucket on {(start - timedelta(days=1)).isoformat()} to the bucket on {end.isoformat()}",
        ["pack", "from", "loans", *(f"to_{b}" for b in BUCKETS), "exited", "cure_rate", "roll_rate"],
        rolls,
        note="cure rate: share of the bucket current at the period end; roll rate: share in a worse "
        "bucket; new: loans first reported during the period",
    )
    return [buckets, foreclosure, roll_rates]
