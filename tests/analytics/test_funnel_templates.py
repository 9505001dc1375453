"""The message funnel per template, on two cases whose messages are counted by hand
(tests/analytics/templated.py): one in the good segment and arm "a", one in the bad segment and
arm "b" with a single delivered reminder, and a message after the range that is left out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from arrears.analytics import kpis
from arrears.analytics.types import FunnelStage, KpiFilters, TemplateFunnel
from arrears.db import Database
from arrears.embedded import EmbeddedPostgres
from models.engagement import EngagementKind
from models.enums import Channel, MessageStatus
from models.payments import Payment
from tests.analytics.conftest import fresh_database
from tests.analytics.templated import EXPECTED, message, plant
from tests.factories import Portfolio

FEB, END = date(2025, 2, 1), date(2025, 3, 31)


@pytest.fixture(scope="module")
async def two_templates(postgres: EmbeddedPostgres) -> AsyncIterator[Database]:
    db = await fresh_database(postgres, "funnel_templates")
    async with db.session() as session:
        p = Portfolio(session)
        await plant(p, when=datetime(2025, 2, 10, 9, tzinfo=UTC), segment="good", arm="a")
        bad = await plant(p, when=datetime(2025, 3, 3, 9, tzinfo=UTC), segment="bad", arm="b")
        # after the range: not counted
        await message(
            p,
            bad,
            "reminder",
            Channel.EMAIL,
            MessageStatus.SENT,
            (EngagementKind.DELIVERED,),
            datetime(2025, 4, 2, 9, tzinfo=UTC),
        )
    yield db
    await db.dispose()


def counts(found: list[TemplateFunnel]) -> dict[str, tuple[int, ...]]:
    assert {f.source for f in found} == {"engagement_events"}
    return {f.template: (f.sent, f.delivered, f.opened, f.clicked, f.paid) for f in found}


async def test_each_template_counts_its_own_messages_over_the_range(two_templates: Database) -> None:
    async with two_templates.session() as session:
        found = await kpis.message_funnel_by_template(session, start=FEB, end=END)
    assert [f.template for f in found] == ["", "final_notice", "reminder"]
    assert counts(found) == {t: tuple(2 * n for n in c) for t, c in EXPECTED.items()}


async def test_by_template_follows_the_segment_and_arm_filters(two_templates: Database) -> None:
    async with two_templates.session() as session:
        good = await kpis.message_funnel_by_template(
            session, start=FEB, end=END, filters=KpiFilters(segment="good")
        )
        arm_b = await kpis.message_funnel_by_template(
            session, start=FEB, end=END, filters=KpiFilters(strategy_arm="b")
        )
        nobody = await kpis.message_funnel_by_template(
            session, start=FEB, end=END, filters=KpiFilters(strategy_arm="nobody")
        )
        february = await kpis.message_funnel_by_template(session, start=FEB, end=date(2025, 2, 28))
    assert counts(good) == EXPECTED
    assert counts(arm_b) == EXPECTED
    assert nobody == []
    assert counts(february) == EXPECTED  # the bad case's messages are in March


async def test_the_monthly_funnel_adds_up_to_the_templates(two_templates: Database) -> None:
    async with two_templates.session() as session:
        monthly = await kpis.message_funnel(session, start=FEB, end=END)
        by_template = await kpis.message_funnel_by_template(session, start=FEB, end=END)
    for stage in FunnelStage:
        assert sum(f.count(stage) for f in monthly) == sum(getattr(f, stage.value) for f in by_template)


async def test_without_engagement_events_sent_and_paid_come_from_the_messages(
    postgres: EmbeddedPostgres,
) -> None:
    db = await fresh_database(postgres, "funnel_templates_plain")
    try:
        async with db.session() as session:
            p = Portfolio(session)
            when = datetime(2025, 2, 10, 9, tzinfo=UTC)
            loan = await p.loan(dpd=40, as_of=when.date())
            case = await p.case(loan, opened=when)
            for template, status in (
                ("reminder", MessageStatus.SENT),
                ("final_notice", MessageStatus.FAILED),
            ):
                await message(p, case, template, Channel.EMAIL, status, (), when)
            session.add(
                Payment(
                    external_id="P-T",
                    loan_id=loan,
                    case_id=case,
                    amount=Decimal("100.00"),
                    currency="USD",
                    received_at=datetime(2025, 2, 15, tzinfo=UTC),
                )
            )
        async with db.session() as session:
            found = await kpis.message_funnel_by_template(session, start=FEB, end=END)
    finally:
        await db.dispose()
    assert {f.source for f in found} == {"messages"}
    # delivered is taken as sent; the failed message was neither sent nor paid through
    assert {f.template: (f.sent, f.delivered, f.opened, f.clicked, f.paid) for f in found} == {
        "final_notice": (0, 0, 0, 0, 0),
        "reminder": (1, 1, 0, 0, 1),
    }
