"""The delinquency report: loans and balances by days past due, foreclosure, roll rates."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, timedelta
from decimal import Decimal

from sqlmodel.ext.asyncio.session import AsyncSession

from arrears.reports.common import Cell, Table, covered_packs, events, money, share
from arrears.reports.portfolio import BUCKETS, portfolio
from models.audit_actions import AuditAction
from models.enums import CaseStage

TITLE = "Delinquency: loans and balances by days past due, foreclosure, roll rates"


async def delinquency(session: AsyncSession, start: date, end: date, pack: str | None) -> list[Table]:
    """Buckets by pack and product, foreclosure starts and inventory, cure and roll rates."""
    before = {s.loan_id: s for s in await portfolio(session, start - timedelta(days=1), pack)}
    after = await portfolio(session, end, pack)
    packs = covered_packs(pack, (s.pack for s in after))

    counts: Counter[tuple[str, str, str, str]] = Counter()
    balances: defaultdict[tuple[str, str, str, str], Decimal] = defaultdict(Decimal)
    for s in after:
        if not s.exited:
            counts[(s.pack, s.product, s.currency, s.bucket)] += 1
            balances[(s.pack, s.product, s.currency, s.bucket)] += s.balance
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
    inventory = Counter(s.pack for s in after if s.bucket == "foreclosure")
    foreclosure = Table(
        "foreclosure",
        "Foreclosure and enforcement: starts in the period, inventory at its end",
        ["pack", "starts", "inventory"],
        [[p, starts[p], inventory[p]] for p in packs],
    )

    order = {b: i for i, b in enumerate(BUCKETS)}
    moves: Counter[tuple[str, str, str]] = Counter()
    for s in after:
        first = before.get(s.loan_id)
        origin = first.bucket if first is not None else "new"
        if origin == "exited":
            continue
        moves[(s.pack, origin, s.bucket)] += 1
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
