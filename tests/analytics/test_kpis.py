"""Each KPI on a small hand-built portfolio whose answers are counted by hand.

January to March 2025, month-end snapshots (balances 1,000 to 5,000 tell the loans apart):
  A  us   current -> 15 dpd (Feb) -> current (Mar): case opened 28 Feb, cured 20 Mar
  B  us   40 -> 70 (54 mid-February) -> 100 dpd: calls, a promise, loss mitigation (5 Feb),
           closed modified 25 Mar
  C  us   current -> current -> no March report: exited in March
  D  nl   20 -> current (paid 500 on 10 Feb, cured) -> 35 dpd in March: a re-default
  E  us   150 dpd -> charged off 15 Feb, no later report; 250 recovered on 10 Mar
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlmodel import col, select

from arrears.analytics import kpis
from arrears.analytics.definitions import DEFINITIONS, KpiName
from arrears.analytics.types import Bucket, FunnelStage, KpiFilters, KpiSeries
from arrears.db import Database
from arrears.embedded import EmbeddedPostgres
from models.documents import Message
from models.engagement import EngagementEvent, EngagementKind
from models.enums import Channel, MessageStatus
from models.kpis import KpiFigure
from models.payments import Payment
from tests.analytics.conftest import fresh_database
from tests.factories import Portfolio

JAN, FEB, MAR = date(2025, 1, 1), date(2025, 2, 1), date(2025, 3, 1)
END = date(2025, 3, 31)
COSTS = {"email": Decimal("0.50"), "letter": Decimal("1.00"), "call": Decimal("2.00")}


def at(month: int, day: int, hour: int = 12) -> datetime:
    return datetime(2025, month, day, hour, tzinfo=UTC)


def d(month: int, day: int) -> date:
    return date(2025, month, day)


async def build(p: Portfolio) -> dict[str, uuid.UUID]:
    s = p.session
    a = await p.loan(dpd=0, as_of=d(1, 31), balance="1000.00")
    await p.snapshot(a, dpd=15, as_of=d(2, 28), balance="1000.00", arrears="500.00")
    await p.snapshot(a, dpd=0, as_of=d(3, 31), balance="1000.00")
    case_a = await p.case(a, opened=at(2, 28, 13), dpd=15)
    await p.close(case_a, "cured", at(3, 20))

    b = await p.loan(dpd=40, as_of=d(1, 31), balance="2000.00", arrears="1000.00")
    # two reports in February: the month's last one counts
    await p.snapshot(b, dpd=54, as_of=d(2, 14), balance="2000.00", arrears="1000.00")
    await p.snapshot(b, dpd=70, as_of=d(2, 28), balance="2000.00", arrears="1500.00")
    await p.snapshot(b, dpd=100, as_of=d(3, 31), balance="2000.00", arrears="2000.00")
    case_b = await p.case(b, opened=at(1, 5), dpd=10)
    for n, detail in enumerate(
        (
            "call: reached; spoke to the borrower",
            "call: no_answer; rang out",
            "call: wrong_number; a stranger",
            "outbound call at 2025-02-03T10:00:00+00:00: reached; agreed to pay",
        ),
        start=1,
    ):
        await p.event(case_b, "contact.done", at(2, 3, 9 + n), key=f"contact.{n}", detail=detail)
    await p.event(case_b, "promise.done", at(2, 3, 15), key="promise.5.recorded", detail="promised 500.00")
    await p.event(case_b, "promise.done", at(2, 10), key="promise.6", detail="kept: 500.00 by 2025-02-08")
    await p.event(case_b, "promise.done", at(2, 20), key="promise.7", detail="broken: 500.00 by 2025-02-18")
    await p.stage(case_b, "loss_mitigation", at(2, 5))
    await p.event(case_b, "message.done", at(2, 11), key="loss_mitigation.1.acknowledgment", due="2025-02-12")
    await p.task(case_b, "loss_mitigation.1.evaluation", "evaluation", at(2, 5), d(3, 7))
    await p.decide(case_b, "loss_mitigation.1.evaluation", at(3, 6))
    await p.close(case_b, "modified", at(3, 25))

    c = await p.loan(dpd=0, as_of=d(1, 31), balance="3000.00")
    await p.snapshot(c, dpd=0, as_of=d(2, 28), balance="3000.00")

    dl = await p.loan("nl_consumer", dpd=20, as_of=d(1, 31), balance="4000.00", arrears="500.00")
    await p.snapshot(dl, dpd=0, as_of=d(2, 28), balance="4000.00")
    await p.snapshot(dl, dpd=35, as_of=d(3, 31), balance="4000.00", arrears="600.00")
    case_d = await p.case(dl, opened=at(1, 31, 13), dpd=20)
    await p.stage(case_d, "loss_mitigation", at(2, 5))
    await p.event(case_d, "message.done", at(2, 14), key="loss_mitigation.1.acknowledgment", due="2025-02-12")
    await p.task(case_d, "loss_mitigation.1.evaluation", "evaluation", at(2, 5), d(3, 7))
    await p.close(case_d, "cured", at(2, 10, 13))
    s.add(
        Payment(
            external_id="P-D",
            loan_id=dl,
            case_id=case_d,
            amount=Decimal("500.00"),
            currency="EUR",
            received_at=at(2, 10),
        )
    )

    e = await p.loan(dpd=150, as_of=d(1, 31), balance="5000.00", arrears="1000.00")
    case_e = await p.case(e, opened=at(1, 2), dpd=120, stage="enforcement")
    await p.close(case_e, "charged_off", at(2, 15))
    s.add(
        Payment(
            external_id="P-E",
            loan_id=e,
            case_id=case_e,
            amount=Decimal("250.00"),
            currency="USD",
            received_at=at(3, 10),
        )
    )

    messages = []
    for channel, status in (
        (Channel.EMAIL, MessageStatus.SENT),
        (Channel.SMS, MessageStatus.FAILED),
        (Channel.LETTER, MessageStatus.PRINTED),
    ):
        m = Message(
            case_id=case_b,
            idempotency_key=f"{case_b}:{channel.value}",
            channel=channel,
            requested_channel=channel.value,
            message_id=f"<{channel.value}@arrears.invalid>",
            status=status,
            created_at=at(2, 4),
        )
        s.add(m)
        messages.append(m)
    await s.flush()
    for kind in (
        EngagementKind.DELIVERED,
        EngagementKind.LINK_CLICKED,
        EngagementKind.PAGE_VIEWED,
        EngagementKind.PAYMENT_SUCCEEDED,
    ):
        s.add(
            EngagementEvent(
                case_id=case_b,
                message_id=messages[0].id,
                template="reminder",
                kind=kind,
                occurred_at=at(2, 5),
            )
        )
    await s.flush()
    # the cure of D and the close of E need the case rows' outcomes as the workflow leaves them
    from models.cases import Case
    from models.enums import CaseOutcome, CaseStatus

    for case_id, outcome, closed in (
        (case_a, CaseOutcome.CURED, at(3, 20)),
        (case_b, CaseOutcome.MODIFIED, at(3, 25)),
        (case_d, CaseOutcome.CURED, at(2, 10, 13)),
        (case_e, CaseOutcome.CHARGED_OFF, at(2, 15)),
    ):
        row = await s.get(Case, case_id)
        assert row is not None
        row.status, row.outcome, row.closed_at = CaseStatus.CLOSED, outcome, closed
    return {"b": case_b}


@pytest.fixture(scope="module")
async def hand_db(postgres: EmbeddedPostgres) -> AsyncIterator[Database]:
    db = await fresh_database(postgres, "kpis_hand")
    async with db.session() as session:
        await build(Portfolio(session))
    yield db
    await db.dispose()


@pytest.fixture(scope="module")
async def board(hand_db: Database) -> kpis.Dashboard:
    async with hand_db.session() as session:
        return await kpis.dashboard(session, start=JAN, end=END, costs=COSTS)


def values(series: KpiSeries) -> dict[date, tuple[Any, ...]]:
    """Each month's (value, numerator, denominator)."""
    return {p.period: (p.value, p.numerator, p.denominator) for p in series.points}


def third(n: int) -> Decimal:
    return Decimal(n) / 3


async def test_flow_matrix_by_count_and_balance(board: kpis.Dashboard) -> None:
    feb, mar = board.flows[1], board.flows[2]
    assert feb.period == FEB
    assert feb.loans(Bucket.CURRENT, "current") == 1  # C
    assert feb.loans(Bucket.CURRENT, "1-29") == 1  # A
    assert feb.loans(Bucket.D30_59, "60-89") == 1  # B
    assert feb.loans(Bucket.D1_29, "current") == 1  # D
    assert feb.loans(Bucket.D120_PLUS, "exited") == 1  # E
    assert feb.balance(Bucket.CURRENT, "1-29") == Decimal("1000.00")
    assert feb.rate(Bucket.CURRENT, "1-29", by_balance=True) == Decimal("1000") / Decimal("4000")
    assert mar.loans(Bucket.CURRENT, "exited") == 1  # C
    assert mar.loans(Bucket.CURRENT, "30-59") == 1  # D re-defaults
    assert mar.loans(Bucket.D60_89, "90-119") == 1  # B
    assert mar.loans(Bucket.D1_29, "current") == 1  # A
    assert sum(c.loans for c in board.flows[0].cells) == 0  # nothing reported in December


async def test_cure_and_redefault(board: kpis.Dashboard) -> None:
    cure = values(board.get(KpiName.CURE_RATE))
    assert cure[FEB] == (third(1), 1, 3)  # D of B, D, E
    assert cure[MAR] == (Decimal("0.5"), 1, 2)  # A of A, B
    redefault = board.get(KpiName.REDEFAULT_12M)
    assert values(redefault)[FEB] == (1, 1, 1)  # D, 35 days past due in March
    assert values(redefault)[MAR] == (0, 0, 1)
    assert not redefault.points[1].complete


async def test_contacts_and_promises(board: kpis.Dashboard) -> None:
    assert values(board.get(KpiName.RIGHT_PARTY_CONTACT_RATE))[FEB] == (Decimal("0.5"), 2, 4)
    assert values(board.get(KpiName.CONTACT_RATE))[FEB] == (Decimal("0.75"), 3, 4)
    assert values(board.get(KpiName.PROMISE_RATE))[FEB] == (Decimal("0.5"), 1, 2)
    assert values(board.get(KpiName.PROMISE_KEPT_RATE))[FEB] == (Decimal("0.5"), 1, 2)
    assert values(board.get(KpiName.CONTACT_RATE))[MAR] == (None, 0, 0)


async def test_money_and_days(board: kpis.Dashboard) -> None:
    # February: D paid 500 of the 2,500 that B, D and E were behind at January's end
    assert values(board.get(KpiName.LIQUIDATION_RATE))[FEB] == (Decimal("0.2"), 500, 2500)
    recovery = values(board.get(KpiName.RECOVERY_RATE))
    assert recovery[FEB] == (None, 0, 0)  # nothing charged off before February
    assert recovery[MAR] == (Decimal("0.05"), 250, 5000)  # E's 250 of its 5,000
    days = values(board.get(KpiName.DAYS_TO_CURE))
    assert days[FEB] == (30, 30, 1)  # D: behind since 11 January, cured 10 February
    assert days[MAR] == (35, 35, 1)  # A: behind since 13 February, cured 20 March


async def test_worse_flows_and_pull_through(board: kpis.Dashboard) -> None:
    current = next(s for s in board.worse_flows if s.series == Bucket.CURRENT.value)
    assert values(current)[FEB] == (Decimal("0.5"), 1, 2)  # A of A and C
    assert values(current)[MAR] == (Decimal("0.5"), 1, 2)  # D of C and D; C's exit is not worse
    pull = values(board.get(KpiName.PULL_THROUGH))
    assert pull[FEB] == (Decimal("0.5"), 1, 2)  # B modified; D cured, not an alternative


async def test_reg_x_timeliness(board: kpis.Dashboard) -> None:
    by = {s.series: values(s) for s in board.timeliness}
    assert by["acknowledgment"][FEB] == (Decimal("0.5"), 1, 2)  # B on the 11th; D late on the 14th
    assert by["evaluation"][MAR] == (Decimal("0.5"), 1, 2)  # B decided 6 March; D never
    assert by["all"][FEB] == (Decimal("0.5"), 1, 2)
    assert by["all"][MAR] == (Decimal("0.5"), 1, 2)


async def test_message_funnel_and_cost(board: kpis.Dashboard) -> None:
    feb = board.funnel[1]
    assert feb.source == "engagement_events"
    assert [(s.stage, s.messages) for s in feb.stages] == [
        (FunnelStage.SENT, 2),
        (FunnelStage.DELIVERED, 1),
        (FunnelStage.OPENED, 1),
        (FunnelStage.CLICKED, 1),
        (FunnelStage.PAID, 1),
    ]
    assert board.cost_per_unit is not None
    # an e-mail (0.50), a letter (1.00) and four calls (2.00 each) for D's 500
    assert values(board.cost_per_unit)[FEB] == (Decimal("0.019"), Decimal("9.50"), 500)


async def test_filters(hand_db: Database) -> None:
    async with hand_db.session() as session:
        us = await kpis.cure_rate(session, start=JAN, end=END, filters=KpiFilters(pack="us_mortgage"))
        nl = await kpis.cure_rate(session, start=JAN, end=END, filters=KpiFilters(pack="nl_consumer"))
        team = await kpis.cure_rate(session, start=JAN, end=END, filters=KpiFilters(team="nobody"))
        rpc_nl = await kpis.right_party_contact_rate(
            session, start=JAN, end=END, filters=KpiFilters(pack="nl_consumer")
        )
    assert values(us)[FEB] == (0, 0, 2)  # B and E, neither cured
    assert values(nl)[FEB] == (1, 1, 1)  # D
    assert values(team)[FEB] == (None, 0, 0)
    assert values(rpc_nl)[FEB] == (None, 0, 0)  # the calls were on B, a US loan


async def test_figures_are_stored_with_their_definitions_version(
    hand_db: Database, board: kpis.Dashboard
) -> None:
    async with hand_db.session() as session:
        written = await kpis.store_figures(session, board)
        again = await kpis.store_figures(session, board)  # computing again replaces, never doubles
    assert written == again > 0
    async with hand_db.session() as session:
        rows = (
            await session.exec(select(KpiFigure).where(col(KpiFigure.kpi) == KpiName.CURE_RATE.value))
        ).all()
    assert len(rows) == 3
    feb = next(r for r in rows if r.period == FEB)
    stored: tuple[Any, ...] = (feb.version, feb.filters, feb.numerator, feb.denominator)
    assert stored == (
        DEFINITIONS[KpiName.CURE_RATE].version,
        "all",
        1,
        3,
    )
    assert feb.value is not None and abs(feb.value - third(1)) < Decimal("1e-8")


async def test_funnel_without_engagement_events_counts_sent_and_paid_from_messages(
    postgres: EmbeddedPostgres,
) -> None:
    db = await fresh_database(postgres, "funnel_plain")
    try:
        async with db.session() as session:
            p = Portfolio(session)
            loan = await p.loan(dpd=40, as_of=d(1, 31), arrears="1000.00")
            case = await p.case(loan, opened=at(1, 5))
            for n, status in enumerate((MessageStatus.SENT, MessageStatus.SENT, MessageStatus.FAILED)):
                session.add(
                    Message(
                        case_id=case,
                        idempotency_key=f"{case}:{n}",
                        channel=Channel.EMAIL,
                        requested_channel="email",
                        message_id=f"<{n}@arrears.invalid>",
                        status=status,
                        created_at=at(2, 1 + 10 * n),
                    )
                )
            # paid 5 days after the first message; the second (11 Feb) is 20 days before the next payment
            session.add(
                Payment(
                    external_id="P-1",
                    loan_id=loan,
                    case_id=case,
                    amount=Decimal("100.00"),
                    currency="USD",
                    received_at=at(2, 6),
                )
            )
        async with db.session() as session:
            funnel = await kpis.message_funnel(session, start=FEB, end=date(2025, 2, 28))
    finally:
        await db.dispose()
    feb = funnel[0]
    assert feb.source == "messages"
    assert [(s.stage, s.messages, s.known) for s in feb.stages] == [
        (FunnelStage.SENT, 2, True),
        (FunnelStage.DELIVERED, 2, True),
        (FunnelStage.OPENED, 0, False),
        (FunnelStage.CLICKED, 0, False),
        (FunnelStage.PAID, 1, True),
    ]
